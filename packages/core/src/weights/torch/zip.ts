import type { FileHandle } from "node:fs/promises";
import type yauzl from "yauzl";
import { WeightsFormatError } from "../../errors.js";
import { readExactly } from "../safetensors.js";

/** One entry of the central directory, with the fields a reader of stored (uncompressed) data needs. */
export interface ZipEntry {
  name: string;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  raw: yauzl.Entry;
}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const STORED = 0;

/** Why a zip entry name is unsafe to trust, or null. Mirrors yauzl's checks, with our own error message. */
export function unsafeEntryName(name: string): string | null {
  if (name === "") return "empty name";
  if (name.includes("\0")) return "NUL character";
  if (name.includes("\\")) return "backslash";
  if (name.startsWith("/") || /^[a-zA-Z]:/.test(name)) return "absolute path";
  if (name.split("/").includes("..")) return '".." path segment';
  return null;
}

/**
 * A zip archive opened for random access: the central directory is read once (yauzl, ZIP64 aware), entry data
 * is read by absolute offset on demand, so a many-gigabyte archive is never loaded whole. Only STORED entries
 * can be read by range; `torch.save` never compresses.
 */
export class ZipArchive {
  private readonly dataStarts = new Map<string, Promise<number>>();

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly zip: yauzl.ZipFile,
    readonly size: number,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Reads the central directory of the archive open on `fh` (which stays owned by the caller). */
  static async open(fh: FileHandle, file: string): Promise<ZipArchive> {
    const size = (await fh.stat()).size;
    const entries = new Map<string, ZipEntry>();
    // autoClose false: the fd belongs to `fh`. The ZipFile is never close()d, since that would close the fd.
    // decodeStrings false: names are decoded and validated below, so a bad one gets an error naming the file.
    // yauzl is Node-only (fs, events, util.inherits): loaded on first use so browser bundles of core never run it.
    const lib = (await import("yauzl")).default;
    let zip: yauzl.ZipFile;
    try {
      zip = await lib.fromFdPromise(fh.fd, {
        lazyEntries: true,
        autoClose: false,
        validateEntrySizes: true,
        decodeStrings: false,
      });
    } catch (e) {
      throw new WeightsFormatError(
        file,
        `not a readable zip archive (truncated or corrupt): ${(e as Error).message}`,
        { cause: e },
      );
    }
    // Errors reach callers through eachEntry / read streams; this keeps a stray "error" event from crashing.
    zip.on("error", () => {});
    try {
      for await (const entry of zip.eachEntry()) {
        const rawName = entry.fileName as unknown as Buffer;
        // strictFileNames: keep backslashes as they are (torch never writes them), so they are refused below.
        const name = lib.getFileNameLowLevel(entry.generalPurposeBitFlag, rawName, entry.extraFields, true);
        const reason = unsafeEntryName(name);
        if (reason)
          throw new WeightsFormatError(
            file,
            `zip entry ${JSON.stringify(name)} has an unsafe path (${reason}); refusing the archive`,
          );
        if (entries.has(name))
          throw new WeightsFormatError(
            file,
            `zip entry ${JSON.stringify(name)} appears twice; refusing the archive`,
          );
        entries.set(name, {
          name,
          compressionMethod: entry.compressionMethod,
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
          localHeaderOffset: entry.relativeOffsetOfLocalHeader,
          raw: entry,
        });
      }
    } catch (e) {
      if (e instanceof WeightsFormatError) throw e;
      throw new WeightsFormatError(file, `corrupt zip central directory: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new ZipArchive(file, fh, zip, size, entries);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new WeightsFormatError(this.file, `zip entry ${JSON.stringify(name)} is missing`);
    return e;
  }

  /** Reads a whole (small) entry through yauzl, compressed or not, refusing entries above `maxBytes`. */
  async readWhole(name: string, maxBytes: number): Promise<Buffer> {
    const e = this.entry(name);
    if (e.uncompressedSize > maxBytes)
      throw new WeightsFormatError(
        this.file,
        `zip entry ${JSON.stringify(name)} is ${e.uncompressedSize} bytes, more than the ${maxBytes} allowed`,
      );
    try {
      const stream = await this.zip.openReadStreamPromise(e.raw);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      throw new WeightsFormatError(
        this.file,
        `cannot read zip entry ${JSON.stringify(name)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Reads `length` bytes at `offset` inside a STORED entry, straight from the file. */
  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    const e = this.entry(name);
    if (offset + length > e.uncompressedSize)
      throw new WeightsFormatError(
        this.file,
        `zip entry ${JSON.stringify(name)}: bytes [${offset}, ${offset + length}) lie past its end (${e.uncompressedSize} bytes)`,
      );
    const start = await this.dataStart(e);
    return readExactly(this.fh, this.file, start + offset, length);
  }

  /** Absolute file offset of a STORED entry's data, from its local header (read once, cached). */
  dataStart(e: ZipEntry): Promise<number> {
    let p = this.dataStarts.get(e.name);
    if (!p) {
      p = this.readLocalHeader(e);
      this.dataStarts.set(e.name, p);
    }
    return p;
  }

  private async readLocalHeader(e: ZipEntry): Promise<number> {
    const where = `zip entry ${JSON.stringify(e.name)}`;
    if (e.compressionMethod !== STORED)
      throw new WeightsFormatError(
        this.file,
        `${where} is compressed (method ${e.compressionMethod}); only stored (uncompressed) entries can be read by offset, as torch.save writes them`,
      );
    const header = await readExactly(this.fh, this.file, e.localHeaderOffset, 30);
    if (header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE)
      throw new WeightsFormatError(
        this.file,
        `${where}: no local file header at offset ${e.localHeaderOffset}`,
      );
    if (header.readUInt16LE(8) !== STORED)
      throw new WeightsFormatError(
        this.file,
        `${where}: local header says compressed, central directory says stored`,
      );
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    // The local name must match the central directory's, or the two views of the archive disagree.
    const localName = await readExactly(this.fh, this.file, e.localHeaderOffset + 30, nameLength);
    if (!localName.equals(e.raw.fileName as unknown as Buffer))
      throw new WeightsFormatError(
        this.file,
        `${where}: local header names ${JSON.stringify(localName.toString("utf8"))}`,
      );
    const start = e.localHeaderOffset + 30 + nameLength + extraLength;
    if (start + e.compressedSize > this.size)
      throw new WeightsFormatError(
        this.file,
        `${where}: data [${start}, ${start + e.compressedSize}) runs past the end of the file (${this.size} bytes); the file is truncated`,
      );
    return start;
  }
}
