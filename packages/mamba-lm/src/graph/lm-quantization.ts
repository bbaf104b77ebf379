import {
  type AccuracyLevel,
  type BlockQuantization,
  checkAccuracyLevel,
  checkBlockQuantization,
  InvalidArgumentError,
  type QuantBits,
} from "@cobra-ts/core";
import { EMBEDDING, LM_HEAD } from "../weights/mamba-weights.js";

/**
 * How the LM's weights are stored. The four projections of every layer are block-quantized to `bits` and run
 * as onnxruntime's MatMulNBits; the embedding (and an untied head) to `headBits`: the tied table serves both the
 * head (MatMulNBits) and the lookup (dequantized row by row), so it is held once. Everything else (A_log, D,
 * conv, norms, biases) and the recurrent states stay fp32, as llama.cpp and the Mamba authors keep them.
 */
export interface LmQuantization {
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
}

/** Graph metadata key: the quantized embedding's layout, {bits, blockSize, cols}. */
export const EMBEDDING_METADATA = "cobra.embedding_quantization";

/** The projections that become MatMulNBits when the LM is quantized. */
export const QUANTIZED_PROJECTION = /\.(in_proj|x_proj|dt_proj|out_proj)\.weight$/;

export function checkLmQuantization(q: LmQuantization): LmQuantization {
  if (q.method !== "matmul-nbits")
    throw new InvalidArgumentError(
      `unknown LM quantization method "${q.method}"; the one known is "matmul-nbits"`,
    );
  checkBlockQuantization(q);
  checkBlockQuantization({ bits: q.headBits, blockSize: q.blockSize });
  checkAccuracyLevel(q.accuracyLevel);
  return q;
}

/** The block quantization of source tensor `source` in an LM stored with `q`, or null when it stays fp32. */
export function tensorQuantization(
  source: string,
  q: LmQuantization | null,
  tieEmbeddings: boolean,
): BlockQuantization | null {
  if (!q) return null;
  if (QUANTIZED_PROJECTION.test(source)) return { bits: q.bits, blockSize: q.blockSize };
  if (source === EMBEDDING || (!tieEmbeddings && source === LM_HEAD))
    return { bits: q.headBits, blockSize: q.blockSize };
  return null;
}

/** The LM's storage types by transformers.js' names; fp16 and q4f16 are not built for the LM yet. */
export const LM_DTYPES = ["fp32", "q8", "q4"] as const;
export type LmDtype = (typeof LM_DTYPES)[number];

/**
 * The quantization a dtype name stands for: q8 = 8-bit projections and head; q4 = 4-bit projections with an
 * 8-bit head (as llama.cpp's Q4_0 keeps its head at Q6_K). Blocks of 32 weights, like Q4_0 / Q8_0.
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
  const bits = dtype === "q8" ? 8 : 4;
  return checkLmQuantization({
    method: "matmul-nbits",
    bits,
    headBits: 8,
    blockSize: options.blockSize ?? 32,
    accuracyLevel: options.accuracyLevel ?? 4,
  });
}

/** The dtype name of an LM stored with `q`. */
export function lmDtypeOf(q: LmQuantization): LmDtype {
  return q.bits === 8 ? "q8" : "q4";
}
