import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { FileNotFoundError, WeightsFormatError } from "../errors.js";
import { DTYPE_BYTES, type DType, numel, type Tensor } from "../tensor.js";
import type { TensorInfo, WeightSource } from "./source.js";
import { decodeStorage, readDType } from "./storage.js";

interface Entry extends TensorInfo {
  begin: number;
  end: number;
}

/** Headers larger than this are refused: real ones are a few hundred KB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads `length` bytes at `position`, failing with a typed error if the file ends first. */
export async function readExactly(
  fh: FileHandle,
  file: string,
  position: number,
  length: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0)
      throw new WeightsFormatError(
        file,
        `truncated: wanted ${length} bytes at offset ${position}, file ends after ${done}`,
      );
    done += bytesRead;
  }
  return buf;
}

/** One `.safetensors` file, header parsed and validated up front, tensors read by offset on demand. */
export class SafetensorsFile implements WeightSource {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly dataStart: number,
    private readonly entries: Map<string, Entry>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT")
        throw new FileNotFoundError(path, "safetensors file");
      throw e;
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8)
        throw new WeightsFormatError(
          path,
          `not a safetensors file: ${size} bytes, shorter than the 8-byte header length`,
        );
      const lenBuf = await readExactly(fh, path, 0, 8);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > MAX_HEADER_BYTES)
        throw new WeightsFormatError(path, `header length ${headerLen} is implausibly large`);
      if (8 + headerLen > size)
        throw new WeightsFormatError(
          path,
          `header length ${headerLen} runs past the end of the file (${size} bytes)`,
        );
      const headerText = (await readExactly(fh, path, 8, headerLen)).toString("utf8");
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerText);
      } catch (e) {
        throw new WeightsFormatError(path, "header is not valid JSON", { cause: e });
      }
      const dataStart = 8 + headerLen;
      const entries = parseHeader(path, header, size - dataStart);
      const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
      return new SafetensorsFile(path, fh, dataStart, entries, metadata);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  info(key: string): TensorInfo {
    const e = this.entry(key);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  async read(key: string): Promise<Tensor> {
    const e = this.entry(key);
    const bytes = await readExactly(this.fh, this.path, this.dataStart + e.begin, e.end - e.begin);
    return {
      dtype: readDType(e.dtype),
      shape: [...e.shape],
      data: decodeStorage(this.path, key, e.dtype, bytes),
    };
  }

  /** The raw stored bytes of a tensor (no dtype conversion). */
  async readRaw(key: string): Promise<Buffer> {
    const e = this.entry(key);
    return readExactly(this.fh, this.path, this.dataStart + e.begin, e.end - e.begin);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private entry(key: string): Entry {
    const e = this.entries.get(key);
    if (!e) throw new WeightsFormatError(this.path, `no tensor named "${key}"`);
    return e;
  }
}

function parseHeader(file: string, header: Record<string, unknown>, dataBytes: number): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const [key, value] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = v?.dtype as DType;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype))
      throw new WeightsFormatError(file, `${key}: unknown dtype ${JSON.stringify(v?.dtype)}`);
    const shape = v.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new WeightsFormatError(file, `${key}: invalid shape ${JSON.stringify(shape)}`);
    const offs = v.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isInteger(o) && o >= 0) ||
      offs[1] < offs[0]
    )
      throw new WeightsFormatError(file, `${key}: invalid data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    const expected = numel(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected)
      throw new WeightsFormatError(
        file,
        `${key}: ${end - begin} bytes stored but ${dtype} ${JSON.stringify(shape)} needs ${expected}`,
      );
    if (end > dataBytes)
      throw new WeightsFormatError(
        file,
        `${key}: data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes); the file is truncated`,
      );
    entries.set(key, { dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    const [prevKey, prev] = sorted[i - 1];
    const [key, cur] = sorted[i];
    if (cur.begin < prev.end)
      throw new WeightsFormatError(file, `tensors "${prevKey}" and "${key}" have overlapping data offsets`);
  }
  return entries;
}

export interface TensorToWrite {
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes, or a typed array whose bytes are written as they are. */
  data: ArrayBufferView;
}

/**
 * Writes a safetensors file: 8-byte header length, JSON header padded with spaces to a multiple of 8, tensors
 * in key order. Written to `<path>.tmp` and renamed, so a failure never leaves a half file.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = { format: "pt" },
): Promise<void> {
  const keys = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const key of keys) {
    const t = tensors[key];
    const bytes = t.data.byteLength;
    const expected = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (bytes !== expected)
      throw new WeightsFormatError(
        path,
        `${key}: ${bytes} bytes given for ${t.dtype} ${JSON.stringify(t.shape)} (${expected} expected)`,
      );
    header[key] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.write(lenBuf);
    await fh.write(headerBytes);
    for (const key of keys) {
      const d = tensors[key].data;
      await fh.write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}
