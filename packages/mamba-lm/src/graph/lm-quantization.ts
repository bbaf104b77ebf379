import {
  type AccuracyLevel,
  type BlockQuantization,
  checkAccuracyLevel,
  checkBlockQuantization,
  defaultBlockSize,
  InvalidArgumentError,
  type QuantBits,
} from "@cobra-ts/core";
import { EMBEDDING, LM_HEAD } from "../weights/mamba-weights.js";

/**
 * How the LM's weights are stored when not fp32: block-quantized (MatMulNBits) or float16. Either way only the
 * four projections of every layer and the embedding / head change; everything else (A_log, D, conv, norms,
 * biases) and the recurrent states stay fp32, as llama.cpp and the Mamba authors keep them.
 */
export type LmQuantization = LmBlockQuantization | LmFloat16;

/**
 * The projections and the embedding / head in float16, each Cast to fp32 where it is used; the activations
 * stay fp32. onnxruntime folds the Casts once at load, so this halves the download and the disk, not the
 * runtime memory: on an x86 CPU a float16 MatMul (fp16 activations) ends up the same, onnxruntime widens its
 * weight to fp32 at load too (same RSS measured), and it would round the activations for nothing.
 */
export interface LmFloat16 {
  method: "float16";
}

/**
 * The four projections of every layer block-quantized to `bits` and run as onnxruntime's MatMulNBits; the
 * embedding (and an untied head) to `headBits`: the tied table serves both the head (MatMulNBits) and the
 * lookup (dequantized row by row), so it is held once.
 */
export interface LmBlockQuantization {
  method: "matmul-nbits";
  bits: QuantBits;
  /** Bits of the embedding / head; 8 by default for a 4-bit model (4-bit heads are known to hurt). */
  headBits: QuantBits;
  blockSize: number;
  /**
   * MatMulNBits' accuracy_level: 0 computes in fp32; 4 quantizes the activations to int8 per block, which is
   * onnxruntime's fast CPU path for 8-bit weights.
   */
  accuracyLevel: AccuracyLevel;
  /**
   * MatMulNBits' float type T (its input, scales and output): "float16" is q4f16, absent is fp32. The
   * residual stream, states and scan stay fp32: the activations are Cast to float16 around each product.
   * WebGPU computes in fp16; onnxruntime's x86 CPU kernel widens the input to fp32 on every call and runs
   * q4's kernel (contrib_ops/cpu/quantization/matmul_nbits.cc), so there q4f16 only saves the scales' bytes.
   */
  floatType?: "float16";
}

/** Graph metadata key: the quantized embedding's layout, {bits, blockSize, cols}. */
export const EMBEDDING_METADATA = "cobra.embedding_quantization";

/** The projections that become MatMulNBits when the LM is quantized. */
export const QUANTIZED_PROJECTION = /\.(in_proj|x_proj|dt_proj|out_proj)\.weight$/;

export function checkLmQuantization(q: LmQuantization): LmQuantization {
  if (q.method === "float16") return q;
  if (q.method !== "matmul-nbits")
    throw new InvalidArgumentError(
      `unknown LM quantization method "${(q as { method: unknown }).method}"; the known ones are "matmul-nbits" and "float16"`,
    );
  if (q.floatType !== undefined && (q.floatType !== "float16" || q.bits !== 4))
    throw new InvalidArgumentError(
      `floatType "${q.floatType}" with ${q.bits}-bit weights names no dtype; float16 scales are built for q4 (q4f16)`,
    );
  checkBlockQuantization(q);
  checkBlockQuantization({ bits: q.headBits, blockSize: q.blockSize });
  checkAccuracyLevel(q.accuracyLevel);
  return q;
}

/** Whether source tensor `source` is one of the big matrices a non-fp32 LM stores otherwise (projections, head). */
function isReducedTensor(source: string, tieEmbeddings: boolean): boolean {
  return QUANTIZED_PROJECTION.test(source) || source === EMBEDDING || (!tieEmbeddings && source === LM_HEAD);
}

/** The block quantization of source tensor `source` in an LM stored with `q`, or null when it is not quantized. */
export function tensorQuantization(
  source: string,
  q: LmQuantization | null,
  tieEmbeddings: boolean,
): BlockQuantization | null {
  if (q?.method !== "matmul-nbits" || !isReducedTensor(source, tieEmbeddings)) return null;
  return { bits: QUANTIZED_PROJECTION.test(source) ? q.bits : q.headBits, blockSize: q.blockSize };
}

/**
 * Whether the float values stored for `source` are float16: the weight itself (fp16), or its block scales
 * (q4f16).
 */
export function storesFloat16(source: string, q: LmQuantization | null, tieEmbeddings: boolean): boolean {
  if (!q || !isReducedTensor(source, tieEmbeddings)) return false;
  return q.method === "float16" || q.floatType === "float16";
}

/** The LM's storage types by transformers.js' names. */
export const LM_DTYPES = ["fp32", "fp16", "q8", "q4", "q4f16"] as const;
export type LmDtype = (typeof LM_DTYPES)[number];

/**
 * The storage a dtype name stands for: fp16 = float16 projections and head (see LmFloat16); q8 = 8-bit
 * projections and head; q4 = 4-bit projections with an 8-bit head (as llama.cpp's Q4_0 keeps its head at
 * Q6_K); q4f16 = q4 with float16 scales and MatMulNBits in float16. Blocks of defaultBlockSize(bits) weights
 * unless asked (128 at q4 / q4f16, the head too; 32 at q8).
 * Accuracy level 4 by default: onnxruntime's CPU MatMulNBits has no fp32 kernel for 8-bit weights (it
 * dequantizes the whole matrix on every call: 0.5 s for a 2048 x 8192 product, 1.4 ms at level 4), and
 * level 4's int8 activations move logits by about as much as 8-bit weights do (quantized-lm.test.ts).
 */
export function lmQuantizationFor(
  dtype: string,
  options: { blockSize?: number; accuracyLevel?: AccuracyLevel } = {},
): LmQuantization | null {
  if (!(LM_DTYPES as readonly string[]).includes(dtype))
    throw new InvalidArgumentError(`the LM's dtype must be one of ${LM_DTYPES.join(", ")}; got "${dtype}"`);
  if (dtype === "fp32") return null;
  if (dtype === "fp16") return { method: "float16" };
  const bits = dtype === "q8" ? 8 : 4;
  return checkLmQuantization({
    method: "matmul-nbits",
    bits,
    headBits: 8,
    blockSize: options.blockSize ?? defaultBlockSize(bits),
    accuracyLevel: options.accuracyLevel ?? 4,
    ...(dtype === "q4f16" && { floatType: "float16" as const }),
  });
}

/** The dtype name of an LM stored with `q`. */
export function lmDtypeOf(q: LmQuantization): LmDtype {
  if (q.method === "float16") return "fp16";
  if (q.bits === 8) return "q8";
  return q.floatType === "float16" ? "q4f16" : "q4";
}
