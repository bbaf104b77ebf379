import {
  type BlockQuantization,
  dequantizeRowInto,
  float16BitsToFloat32,
  type InitializerBytes,
  type InitializerReader,
  ModelFormatError,
  type ModelInspection,
  quantizedWeightNames,
  type SessionOptions,
} from "@cobra-ts/core";
import { EMBEDDING_METADATA } from "../graph/lm-quantization.js";
import { EMBEDDING } from "../weights/mamba-weights.js";

/**
 * The token embedding, read outside onnxruntime: a lookup is a few KB of row copies, and keeping it out of
 * the graph lets onnxruntime drop the tied embedding's original once the head has prepacked it (one copy of
 * the largest tensor instead of two: 0.41 GB at Mamba-1.4B). Rows come from the model's own bytes, from
 * the external data given with them, or (Node, ./embedding-file.ts) straight from the external data file.
 * A quantized LM stores the table once, block-quantized for its head: a row is dequantized as it is read;
 * an fp16 LM's (or a q4f16 LM's scales) are widened to fp32 as they are read.
 */
export class EmbeddingTable {
  constructor(
    readonly vocab: number,
    readonly dModel: number,
    /** Copies row `id` into `out` (dModel floats). */
    private readonly readRow: (id: number, out: Float32Array) => Promise<void> | void,
    private readonly onClose: () => Promise<void>,
  ) {}

  /** Over any reader of the initializers of `layout` (see embeddingLayout). */
  static over(
    layout: EmbeddingLayout,
    read: InitializerReader,
    onClose: () => Promise<void> = async () => {},
  ): EmbeddingTable {
    const { vocab, dModel } = layout;
    if (layout.kind === "float")
      return new EmbeddingTable(vocab, dModel, (id, out) => readFloats(read, layout.table, id, out), onClose);
    const { codes, scales, q, kBlocks, rowBytes } = layout;
    return new EmbeddingTable(
      vocab,
      dModel,
      async (id, out) => {
        const rowCodes = new Uint8Array(rowBytes);
        const rowScales = new Float32Array(kBlocks);
        await Promise.all([read(codes, id * rowBytes, rowCodes), readFloats(read, scales, id, rowScales)]);
        dequantizeRowInto(rowCodes, rowScales, dModel, q, out);
      },
      onClose,
    );
  }

  /** From a model given as bytes, with its external data (if any) as bytes too. */
  static fromBytes(
    model: ModelInspection,
    externalData: SessionOptions["externalData"],
    what: string,
  ): EmbeddingTable {
    const layout = embeddingLayout(model, what);
    const bytesOf = new Map<InitializerBytes, Uint8Array>();
    for (const t of layoutInitializers(layout)) {
      const bytes = t.external ? externalBytes(t.external, externalData, what) : t.raw!;
      expectLength(t, bytes.byteLength, what);
      // A copy: a view would keep the whole file's buffer alive as long as the model (in a browser tab, Cobra-3.5B's
      // 1.8 GB lm.onnx.data beside onnxruntime's heap, for a 0.15 GB table).
      bytesOf.set(t, bytes.slice());
    }
    return EmbeddingTable.over(layout, (t, offset, out) =>
      out.set(bytesOf.get(t)!.subarray(offset, offset + out.byteLength)),
    );
  }

  /** The rows of `ids`, one after another, into `out` (ids.length x dModel floats). */
  async lookup(ids: BigInt64Array, out: Float32Array): Promise<void> {
    const d = this.dModel;
    await Promise.all(Array.from(ids, (id, i) => this.readRow(Number(id), out.subarray(i * d, (i + 1) * d))));
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** Row `row` of a float32 or float16 [rows, out.length] initializer, as fp32 into `out`. */
async function readFloats(read: InitializerReader, t: InitializerBytes, row: number, out: Float32Array) {
  const n = out.length;
  if (t.type === "float32") return read(t, row * n * 4, new Uint8Array(out.buffer, out.byteOffset, n * 4));
  const bits = new Uint16Array(n);
  await read(t, row * n * 2, new Uint8Array(bits.buffer));
  float16BitsToFloat32(bits, out);
}

const FLOAT_TYPES: readonly InitializerBytes["type"][] = ["float32", "float16"];

export type EmbeddingLayout =
  /** The table as it is, float32 or float16 (an fp16 LM). */
  | { kind: "float"; vocab: number; dModel: number; table: InitializerBytes }
  | {
      kind: "quantized";
      vocab: number;
      dModel: number;
      codes: InitializerBytes;
      scales: InitializerBytes;
      q: BlockQuantization;
      kBlocks: number;
      rowBytes: number;
    };

/** Where the embedding is in the model and how it is stored: float rows, or the quantized head's codes. */
export function embeddingLayout(model: ModelInspection, what: string): EmbeddingLayout {
  const table = model.initializer(EMBEDDING);
  if (table) {
    if (!FLOAT_TYPES.includes(table.type) || table.dims.length !== 2)
      throw new ModelFormatError(
        `${what}: "${EMBEDDING}" must be float32 or float16 [vocab, d_model], got ${table.type} [${table.dims}]`,
      );
    return { kind: "float", vocab: table.dims[0], dModel: table.dims[1], table };
  }
  const names = quantizedWeightNames(EMBEDDING);
  const codes = model.initializer(names.codes);
  const scales = model.initializer(names.scales);
  if (!codes || !scales)
    throw new ModelFormatError(`${what}: no "${EMBEDDING}" initializer; not a cobra-ts Mamba LM`);
  const q = quantizedLayout(model, what);
  const [vocab, kBlocks, blobSize] = codes.dims;
  const dModel = q.cols;
  if (
    codes.type !== "uint8" ||
    !FLOAT_TYPES.includes(scales.type) ||
    codes.dims.length !== 3 ||
    kBlocks !== Math.ceil(dModel / q.blockSize) ||
    blobSize !== (q.blockSize * q.bits) / 8 ||
    scales.dims.join() !== [vocab, kBlocks].join()
  )
    throw new ModelFormatError(
      `${what}: the quantized embedding is ${codes.type} [${codes.dims}] + ${scales.type} [${scales.dims}], ` +
        `which is not d_model ${dModel} at ${q.bits} bits in blocks of ${q.blockSize}`,
    );
  return { kind: "quantized", vocab, dModel, codes, scales, q, kBlocks, rowBytes: kBlocks * blobSize };
}

/** The initializers a lookup reads. */
export function layoutInitializers(layout: EmbeddingLayout): InitializerBytes[] {
  return layout.kind === "float" ? [layout.table] : [layout.codes, layout.scales];
}

/** The quantized embedding's layout, as the converter recorded it in the graph's metadata. */
function quantizedLayout(model: ModelInspection, what: string): BlockQuantization & { cols: number } {
  let q: { bits?: unknown; blockSize?: unknown; cols?: unknown } | undefined;
  try {
    q = JSON.parse(model.metadata[EMBEDDING_METADATA] ?? "null") ?? undefined;
  } catch {
    q = undefined;
  }
  if ((q?.bits !== 4 && q?.bits !== 8) || typeof q.blockSize !== "number" || typeof q.cols !== "number")
    throw new ModelFormatError(
      `${what}: a quantized embedding without a valid "${EMBEDDING_METADATA}" in the metadata`,
    );
  return { bits: q.bits, blockSize: q.blockSize, cols: q.cols };
}

const ELEMENT_BYTES: Partial<Record<InitializerBytes["type"], number>> = { float32: 4, float16: 2, uint8: 1 };

/** Every initializer the lookup reads must hold exactly the bytes its type and dims say. */
export function expectLength(t: InitializerBytes, length: number, what: string): void {
  const want = t.dims.reduce((a, b) => a * b, ELEMENT_BYTES[t.type] ?? Number.NaN);
  if (length !== want)
    throw new ModelFormatError(
      `${what}: the embedding's ${t.type} [${t.dims}] is stored as ${length} bytes, needs ${want}`,
    );
}

/** The initializer's byte range out of the external data given as bytes. */
function externalBytes(
  { location, offset, length }: NonNullable<InitializerBytes["external"]>,
  externalData: SessionOptions["externalData"],
  what: string,
): Uint8Array {
  const file = externalData?.find((f) => f.path === location);
  if (!file) throw new ModelFormatError(`${what}: external data file "${location}" was not given`);
  if (typeof file.data === "string")
    throw new ModelFormatError(`${what}: give external data file "${location}" as bytes, not as a path`);
  if (offset + length > file.data.byteLength)
    throw new ModelFormatError(
      `${what}: "${location}" holds ${file.data.byteLength} bytes, the embedding ends at ${offset + length}`,
    );
  return file.data.subarray(offset, offset + length);
}
