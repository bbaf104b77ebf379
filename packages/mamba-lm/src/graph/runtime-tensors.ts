import { type BlockQuantization, quantizedWeightNames } from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import { expectedMambaShapes } from "../weights/expected-shapes.js";
import { type LmQuantization, storesFloat16, tensorQuantization } from "./lm-quantization.js";

/**
 * One initializer of the converted graph: which source tensor it comes from and how it is laid out.
 * Linear weights are stored transposed ([in, out]) because onnxruntime's CPU MatMul prepacks a constant
 * [k, n] operand and then runs a 1-row product 1.2-3x faster than Gemm(transB=1) on the [out, in] original;
 * the embedding (and an untied lm_head, alike) stays [vocab, d_model] so the same bytes serve Gather (rows) and
 * the tied head (Gemm transB=1, within 15% of MatMul there).
 */
export interface RuntimeTensor {
  /** Initializer name in the graph. */
  name: string;
  /** Canonical source name (see MambaWeights). */
  source: string;
  transpose: boolean;
  /** Shape in the graph (after the transpose); a quantized tensor's logical [N, K]. */
  shape: number[];
  /** Stored block-quantized (codes under `name`, scales under quantizedWeightNames(source).scales), else fp32. */
  quantize: BlockQuantization | null;
  /** Its float values (the weight, or a quantized weight's scales) are stored as float16 (fp16, q4f16). */
  float16: boolean;
}

const TRANSPOSED = /\.(in_proj|x_proj|dt_proj|out_proj)\.weight$/;

/** The initializers of the LM graph, in the order conversion writes them. */
export function runtimeTensors(
  config: MambaConfig,
  quantization: LmQuantization | null = null,
): RuntimeTensor[] {
  return [...expectedMambaShapes(config)].map(([source, shape]) => {
    const quantize = tensorQuantization(source, quantization, config.tieEmbeddings);
    const float16 = storesFloat16(source, quantization, config.tieEmbeddings);
    if (quantize)
      return { name: quantizedWeightNames(source).codes, source, transpose: false, shape, quantize, float16 };
    const transpose = TRANSPOSED.test(source);
    return transpose
      ? { name: `${source}.T`, source, transpose, shape: [shape[1], shape[0]], quantize, float16 }
      : { name: source, source, transpose, shape, quantize, float16 };
  });
}

/** The graph's name for the initializer made from canonical tensor `source`. */
export function runtimeName(source: string): string {
  return TRANSPOSED.test(source) ? `${source}.T` : source;
}

/** Row-major [rows, cols] -> [cols, rows], in cache-friendly tiles (the embedding-sized ones are 100s of MB). */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile)
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const r1 = Math.min(r0 + tile, rows);
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c];
    }
  return out;
}
