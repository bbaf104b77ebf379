import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import type { ExternalLocation } from "./builder.js";

/** ONNX external data files are capped so each fits an ArrayBuffer in browsers and stays mmap-friendly. */
export const DEFAULT_MAX_DATA_FILE_BYTES = 2 ** 31 - 2 ** 20;
/** onnxruntime reads tensors straight from the mapped file; aligned offsets keep those reads aligned. */
const ALIGN = 64;

/**
 * Appends initializer bytes to `<baseName>`, `<baseName>.1`, ... in `dir`, starting a new file before one would
 * pass `maxFileBytes`. Tensors are written as they come, so a converter never holds more than one in memory.
 */
export class ExternalDataWriter {
  private fh: FileHandle | null = null;
  private fileIndex = -1;
  private offset = 0;
  readonly files: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly baseName: string,
    private readonly maxFileBytes = DEFAULT_MAX_DATA_FILE_BYTES,
  ) {}

  async write(bytes: ArrayBufferView): Promise<ExternalLocation> {
    const length = bytes.byteLength;
    if (length > this.maxFileBytes)
      throw new InvalidArgumentError(
        `one tensor of ${length} bytes exceeds the external data file limit ${this.maxFileBytes}`,
      );
    let start = Math.ceil(this.offset / ALIGN) * ALIGN;
    if (!this.fh || start + length > this.maxFileBytes) {
      await this.nextFile();
      start = 0;
    }
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, length);
    let done = 0;
    while (done < length)
      done += (await this.fh!.write(view, done, length - done, start + done)).bytesWritten;
    this.offset = start + length;
    return { location: this.files[this.fileIndex], offset: start, length };
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }

  private async nextFile(): Promise<void> {
    await this.fh?.close();
    this.fileIndex++;
    const name = this.fileIndex === 0 ? this.baseName : `${this.baseName}.${this.fileIndex}`;
    this.files.push(name);
    this.fh = await open(join(this.dir, name), "w");
    this.offset = 0;
  }
}
