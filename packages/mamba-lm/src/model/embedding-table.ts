import {
  type InitializerBytes,
  ModelFormatError,
  type ModelInspection,
  type SessionOptions,
} from "@cobra-ts/core";
import { EMBEDDING } from "../weights/mamba-weights.js";

/**
 * The token embedding, read outside onnxruntime: a lookup is a few KB of row copies, and keeping it out of
 * the graph lets onnxruntime drop the tied embedding's original once the head has prepacked it (one copy of
 * the largest tensor instead of two: 0.41 GB at Mamba-1.4B). Rows come from the model's own bytes, from
 * the external data given with them, or (Node, ./embedding-file.ts) straight from the external data file.
 */
export class EmbeddingTable {
  constructor(
    readonly vocab: number,
    readonly dModel: number,
    /** Copies row `id` into `out` (dModel floats). */
    private readonly readRow: (id: number, out: Float32Array) => Promise<void> | void,
    private readonly onClose: () => Promise<void>,
  ) {}

  /** From a model given as bytes, with its external data (if any) as bytes too. */
  static fromBytes(
    model: ModelInspection,
    externalData: SessionOptions["externalData"],
    what: string,
  ): EmbeddingTable {
    const t = embeddingOf(model, what);
    const dModel = t.dims[1];
    const table = t.external ? externalBytes(t.external, externalData, what) : t.raw!;
    expectLength(t, table.byteLength, what);
    const rowBytes = dModel * 4;
    return new EmbeddingTable(
      t.dims[0],
      dModel,
      (id, out) => {
        new Uint8Array(out.buffer, out.byteOffset, rowBytes).set(
          table.subarray(id * rowBytes, (id + 1) * rowBytes),
        );
      },
      async () => {},
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

export function embeddingOf(model: ModelInspection, what: string): InitializerBytes {
  const t = model.initializer(EMBEDDING);
  if (!t) throw new ModelFormatError(`${what}: no "${EMBEDDING}" initializer; not a cobra-ts Mamba LM`);
  if (t.type !== "float32" || t.dims.length !== 2)
    throw new ModelFormatError(
      `${what}: "${EMBEDDING}" must be float32 [vocab, d_model], got ${t.type} [${t.dims}]`,
    );
  return t;
}

export function expectLength(t: InitializerBytes, length: number, what: string): void {
  if (length !== t.dims[0] * t.dims[1] * 4)
    throw new ModelFormatError(
      `${what}: "${EMBEDDING}" is stored as ${length} bytes, [${t.dims}] needs ${t.dims[0] * t.dims[1] * 4}`,
    );
}

/** The embedding's byte range out of the external data given as bytes. */
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
