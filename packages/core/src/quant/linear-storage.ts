import { Float16Array } from "@petamoriken/float16";
import { InvalidArgumentError } from "../errors.js";
import type { GraphBuilder } from "../onnx/builder.js";
import { onnxDataType } from "../onnx/dtypes.js";
import type { InitializerSink } from "../onnx/initializer-sink.js";
import {
  type AccuracyLevel,
  checkAccuracyLevel,
  checkBlockQuantization,
  defaultBlockSize,
  emitMatMulNBits,
  type QuantBits,
  quantizeBlockwise,
  quantizedWeightNames,
} from "./blockwise.js";

/**
 * How the Linear weights of a vision tower or the projector are stored; null (or absent) is fp32.
 * - fp16: float16 initializers, each Cast to float32 where it is used;
 * - q8 / q4: block-quantized (symmetric, see quantizeBlockwise) and multiplied by onnxruntime's MatMulNBits.
 * Norms, biases, position embeddings and the activations stay fp32.
 */
export type LinearQuantization =
  | { dtype: "fp16"; method: "float16" }
  | {
      dtype: "q8" | "q4";
      method: "matmul-nbits";
      bits: QuantBits;
      blockSize: number;
      accuracyLevel: AccuracyLevel;
    };

/** The storage types a tower or projector can be written as (transformers.js' names). */
export const LINEAR_DTYPES = ["fp32", "fp16", "q8", "q4"] as const;
export type LinearDtype = (typeof LINEAR_DTYPES)[number];

/** The storage a dtype name stands for: blocks of defaultBlockSize(bits) weights, accuracy level 4 by default. */
export function linearQuantizationFor(
  dtype: string,
  options: { blockSize?: number; accuracyLevel?: AccuracyLevel } = {},
): LinearQuantization | null {
  if (!(LINEAR_DTYPES as readonly string[]).includes(dtype))
    throw new InvalidArgumentError(
      `a vision tower's or projector's dtype must be one of ${LINEAR_DTYPES.join(", ")}; got "${dtype}"`,
    );
  if (dtype === "fp32") return null;
  if (dtype === "fp16") return { dtype, method: "float16" };
  const bits = dtype === "q8" ? 8 : 4;
  return checkLinearQuantization({
    dtype: dtype as "q8" | "q4",
    method: "matmul-nbits",
    bits,
    blockSize: options.blockSize ?? defaultBlockSize(bits),
    accuracyLevel: options.accuracyLevel ?? 4,
  });
}

/** Checks a storage given by a caller (JS or a parsed file): its fields must agree with its dtype. */
export function checkLinearQuantization(q: LinearQuantization): LinearQuantization {
  if (q.method === "float16" && q.dtype === "fp16") return q;
  if (q.method === "matmul-nbits" && (q.dtype === "q8" || q.dtype === "q4")) {
    const bits = q.dtype === "q8" ? 8 : 4;
    if (q.bits !== bits)
      throw new InvalidArgumentError(`${q.dtype} stores ${bits}-bit weights, not ${q.bits}`);
    checkBlockQuantization(q);
    checkAccuracyLevel(q.accuracyLevel);
    return q;
  }
  throw new InvalidArgumentError(
    `unknown weight storage ${JSON.stringify(q)}: use fp16 ("float16") or q8 / q4 ("matmul-nbits")`,
  );
}

/** The metadata_props key that names a tower's or projector's dtype. */
export const DTYPE_METADATA = "cobra.dtype";

/** The model metadata_props that say how a tower's or projector's weights are stored. */
export function linearQuantizationMetadata(q: LinearQuantization | null | undefined): Record<string, string> {
  return { [DTYPE_METADATA]: q?.dtype ?? "fp32", "cobra.quantization": JSON.stringify(q ?? null) };
}

/** IEEE half-precision bits of `src`, rounded to nearest even (what numpy's astype(float16) gives). */
export function float32ToFloat16Bits(src: Float32Array): Uint16Array {
  const half = new Float16Array(src);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

/** Widens IEEE half-precision bits into `out` (as many floats as `bits` has): a row of an fp16 table or scales. */
export function float16BitsToFloat32(bits: Uint16Array, out: Float32Array): void {
  out.set(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
}

/**
 * Stores a float weight as `q` says and returns the float32 value to compute with: fp32 as it is; for fp16 the
 * float16 initializer behind a Cast. That halves the download and the disk, not the runtime memory:
 * onnxruntime's constant folding runs the Cast once at load and keeps the fp32 result.
 */
export async function storeFloatWeight(
  g: GraphBuilder,
  sink: InitializerSink,
  name: string,
  dims: number[],
  data: Float32Array,
  q: LinearQuantization | null | undefined,
): Promise<string> {
  if (q?.method !== "float16") return sink(g, name, dims, data);
  const half = await sink(g, name, dims, float32ToFloat16Bits(data));
  return g.op("Cast", [half], { to: onnxDataType("float32") });
}

/**
 * x [..., K] @ W^T for a torch Linear weight W [N, K] (row-major, as the checkpoint stores it): W is
 * block-quantized into `quantizedWeightNames(name)` through `sink` and multiplied by onnxruntime's MatMulNBits
 * (com.microsoft), which pads K to a whole block itself. No bias: add it after.
 */
export async function emitQuantizedMatMul(
  g: GraphBuilder,
  sink: InitializerSink,
  x: string,
  name: string,
  w: Float32Array,
  N: number,
  K: number,
  q: Extract<LinearQuantization, { method: "matmul-nbits" }>,
): Promise<string> {
  const quantized = quantizeBlockwise(w, N, K, q);
  const { codes, scales } = quantizedWeightNames(name);
  await sink(g, codes, [N, quantized.kBlocks, quantized.blobSize], quantized.data);
  await sink(g, scales, [N, quantized.kBlocks], quantized.scales);
  return emitMatMulNBits(g, x, name, { K, N }, q);
}

/** What a manifest part records of a tower's or projector's storage: its dtype and, when quantized, how. */
export function linearPartStorage(q: LinearQuantization | null | undefined): {
  dtype: LinearDtype;
  quantization?: { method: string; blockSize: number };
} {
  if (!q) return { dtype: "fp32" };
  return q.method === "matmul-nbits"
    ? { dtype: q.dtype, quantization: { method: q.method, blockSize: q.blockSize } }
    : { dtype: q.dtype };
}
