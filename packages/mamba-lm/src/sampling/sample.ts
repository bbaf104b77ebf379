import { InvalidArgumentError } from "@cobra-ts/core";
import {
  applyRepetitionPenalty,
  applyTemperature,
  filterMinPMamba122,
  filterTopP,
  softmaxWeights,
} from "./logits-processors.js";
import { resolveSamplingOptions, type SamplingOptions } from "./options.js";
import type { Rng } from "./rng.js";

/**
 * The next token id from one position's logits, as mamba_ssm 1.2.2 `decode()` + `sample()` pick it (the
 * decoder Cobra's `generate` runs):
 * 1. repetition penalty on `previousIds` (the prompt ids followed by the generated ids, as mamba_ssm passes the
 *    whole sequence);
 * 2. topK = 1: argmax (greedy);
 * 3. topK > 0: the k largest logits, / temperature, top-p among them, draw;
 * 4. topK = 0 and minP > 0: min-p (mamba_ssm 1.2.2 semantics), / temperature, draw (top-p is NOT applied);
 * 5. topK = 0 otherwise: / temperature, top-p, draw.
 * All logits are candidates, including the embedding's padding rows (Cobra passes no vocab_size).
 * `logits` is not modified. The draw is an inverse-CDF draw with one `rng.nextFloat()`; torch.multinomial has
 * the same distribution but other random numbers, so seeded runs do not reproduce torch's choices.
 */
export function sampleNextToken(
  logits: Float32Array,
  options: SamplingOptions,
  rng: Rng,
  previousIds: ArrayLike<number> = [],
): number {
  if (logits.length === 0) throw new InvalidArgumentError("logits must not be empty");
  const { topK, topP, minP, temperature, repetitionPenalty } = resolveSamplingOptions(options);
  let scores = logits;
  if (repetitionPenalty !== 1 && previousIds.length > 0) {
    scores = logits.slice();
    applyRepetitionPenalty(scores, previousIds, repetitionPenalty);
  }
  if (topK === 1) return argmax(scores);
  if (topK > 0) {
    const { values, indices } = largestK(scores, Math.min(topK, scores.length));
    applyTemperature(values, temperature);
    filterTopP(values, topP);
    return indices[drawIndex(softmaxWeights(values), rng)];
  }
  const candidates = scores === logits ? logits.slice() : scores;
  if (minP > 0) {
    filterMinPMamba122(candidates, minP);
    applyTemperature(candidates, temperature);
  } else {
    applyTemperature(candidates, temperature);
    filterTopP(candidates, topP);
  }
  return drawIndex(softmaxWeights(candidates), rng);
}

/** torch.argmax: the first index of the maximum; a NaN counts as the maximum. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) return i;
    if (v > values[best]) best = i;
  }
  return best;
}

/** Up to this k the k largest are kept in a sorted buffer (one pass); beyond it a full sort is cheaper. */
const SELECTION_LIMIT = 256;

/**
 * torch.topk(logits, k): the k largest values in descending order and their indices; equal values in index
 * order (torch leaves their order unspecified). Exactly k are kept, whatever the ties.
 */
export function largestK(logits: Float32Array, k: number): { values: Float32Array; indices: Int32Array } {
  const values = new Float32Array(k);
  const indices = new Int32Array(k);
  if (k > SELECTION_LIMIT) {
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    for (let j = 0; j < k; j++) {
      indices[j] = order[j];
      values[j] = logits[order[j]];
    }
    return { values, indices };
  }
  let filled = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (filled === k && !(v > values[k - 1])) continue;
    // Insert after every value >= v, so earlier indices stay first among equals.
    let at = filled === k ? k - 1 : filled;
    while (at > 0 && values[at - 1] < v) {
      values[at] = values[at - 1];
      indices[at] = indices[at - 1];
      at--;
    }
    values[at] = v;
    indices[at] = i;
    if (filled < k) filled++;
  }
  return { values, indices };
}

/**
 * Draws an index with probability proportional to `weights` by inverting the cumulative distribution at
 * `rng.nextFloat()`: the first index whose cumulative weight exceeds u * total. Zero weights are never drawn.
 */
export function drawIndex(weights: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new InvalidArgumentError(
      "sampling: no token has a positive finite probability (non-finite logits, or minP/topP removed every token)",
    );
  }
  const target = rng.nextFloat() * total;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    cumulative += weights[i];
    last = i;
    if (target < cumulative) return i;
  }
  return last; // rounding left the target at the very top
}
