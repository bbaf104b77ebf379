import {
  dequantizeBlockwise,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  MemoryWeights,
  quantizeBlockwise,
  type Tensor,
  type WeightSource,
} from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import { type LmQuantization, storesFloat16, tensorQuantization } from "../graph/lm-quantization.js";
import type { MambaLM } from "../model/mamba-lm.js";
import { referenceLogits } from "../reference/float64-forward.js";
import { MambaWeights } from "../weights/mamba-weights.js";
import { maxAbsDiff } from "./fixture.js";

/** `data` rounded to float16 and back. */
function roundToFloat16(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  float16BitsToFloat32(float32ToFloat16Bits(data), out);
  return out;
}

/**
 * The source with every tensor an LM stored with `q` keeps otherwise replaced by the value the graph computes
 * with: block-quantized and dequantized (with float16-rounded scales for q4f16), or rounded to float16 (fp16).
 * A float64 forward on it is what the graph must equal up to float rounding.
 */
export async function lmWeightsAsStored(
  source: WeightSource,
  config: MambaConfig,
  q: LmQuantization,
): Promise<WeightSource> {
  const weights = MambaWeights.from(source);
  const tensors = new Map<string, Tensor>();
  for (const key of source.keys()) tensors.set(key, await source.read(key));
  for (const name of weights.keys()) {
    const bq = tensorQuantization(name, q, config.tieEmbeddings);
    const half = storesFloat16(name, q, config.tieEmbeddings);
    if (!bq && !half) continue;
    const t = await weights.read(name);
    const w = t.data as Float32Array;
    let data: Float32Array;
    if (bq) {
      const quantized = quantizeBlockwise(w, t.shape[0], t.shape[1], bq);
      if (half) quantized.scales = roundToFloat16(quantized.scales);
      data = dequantizeBlockwise(quantized);
    } else data = roundToFloat16(w);
    tensors.set(weights.sourceKey(name), { ...t, data });
  }
  return new MemoryWeights(tensors);
}

/**
 * Every position's logits, the first from prefill (of 3 tokens) and the rest from steps (a quantized graph
 * returns the last position's only); the first two positions' rows stay zero.
 */
export async function logitsByStep(lm: MambaLM, ids: number[]): Promise<Float32Array> {
  const v = lm.dims.vocabSize;
  const out = new Float32Array(ids.length * v);
  let { logits, state } = await lm.prefill({ ids: ids.slice(0, 3) });
  out.set(logits.data, 2 * v);
  for (let t = 3; t < ids.length; t++) {
    ({ logits, state } = await lm.step(ids[t], state));
    out.set(logits.data, t * v);
  }
  return out;
}

/** The logits of positions `from` onwards, rows of `v`. */
export function positionsFrom(all: ArrayLike<number>, from: number, v: number): number[] {
  return Array.from(all).slice(from * v);
}

/**
 * How far `lm`'s logits for `ids` (positions 2 onwards, see logitsByStep) are from a float64 forward on the
 * weights as `q` stores them (`diff`), with the largest reference logit (at least 1) to scale a bound by.
 */
export async function offWeightsAsStored(
  lm: MambaLM,
  source: WeightSource,
  config: MambaConfig,
  q: LmQuantization,
  ids: number[],
): Promise<{ diff: number; scale: number; expected: Float64Array }> {
  const got = await logitsByStep(lm, ids);
  const expected = await referenceLogits(await lmWeightsAsStored(source, config, q), config, ids);
  const v = config.vocabSizePadded;
  const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
  return { diff: maxAbsDiff(positionsFrom(got, 2, v), positionsFrom(expected, 2, v)), scale, expected };
}
