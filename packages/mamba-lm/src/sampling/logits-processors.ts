import { InvalidArgumentError } from "@cobra-ts/core";

/**
 * mamba_ssm 1.2.2 `modify_logit_for_repetition_penalty`, in place: each distinct id seen before has its logit
 * divided by the penalty when positive and multiplied by it when negative (gather-then-scatter, so an id seen
 * several times is penalized once).
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  previousIds: ArrayLike<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (let i = 0; i < previousIds.length; i++) {
    const id = previousIds[i];
    if (!Number.isSafeInteger(id) || id < 0 || id >= logits.length) {
      throw new InvalidArgumentError(`previousIds: id ${id} is outside the ${logits.length} logits`);
    }
    seen.add(id);
  }
  for (const id of seen) {
    const score = logits[id];
    logits[id] = score < 0 ? score * penalty : score / penalty;
  }
}

/**
 * mamba_ssm 1.2.2 `modify_logits_for_top_p_filtering`, in place: sort ascending, and set to -inf every logit
 * whose ascending cumulative probability is <= 1 - topP. What is left is the smallest set of largest logits
 * whose probability reaches topP. No-op for topP <= 0 or >= 1. Ties sort by index (torch.sort is not stable).
 */
export function filterTopP(logits: Float32Array, topP: number): void {
  if (topP <= 0 || topP >= 1) return;
  const order = Array.from(logits.keys()).sort((a, b) => logits[a] - logits[b] || a - b);
  const weights = softmaxWeights(logits);
  let total = 0;
  for (const w of weights) total += w;
  // torch compares a float32 cumsum with the float32 rounding of (1 - top_p).
  const threshold = Math.fround(1 - topP);
  let cumulative = 0;
  const remove: number[] = [];
  for (const index of order) {
    cumulative += Math.fround(weights[index] / total);
    if (Math.fround(cumulative) > threshold) break;
    remove.push(index);
  }
  for (const index of remove) logits[index] = Number.NEGATIVE_INFINITY;
}

/**
 * mamba_ssm 1.2.2 `modify_logits_for_min_p_filtering`, in place. NOTE: that version compares the raw LOGITS with
 * min_p (`logits < min_p` -> -inf), not probabilities with min_p * max probability as transformers'
 * MinPLogitsWarper does; this reproduces the official behaviour. No-op for minP <= 0 or >= 1.
 */
export function filterMinPMamba122(logits: Float32Array, minP: number): void {
  if (minP <= 0 || minP >= 1) return;
  for (let i = 0; i < logits.length; i++) if (logits[i] < minP) logits[i] = Number.NEGATIVE_INFINITY;
}

/** In place; `logits /= temperature` in float32, skipped for 1 as mamba_ssm does. */
export function applyTemperature(logits: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] /= temperature;
}

/** exp(logit - max): softmax up to its normalization (-inf -> 0). */
export function softmaxWeights(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of logits) if (x > max) max = x;
  const weights = new Float64Array(logits.length);
  if (max === Number.NEGATIVE_INFINITY) return weights;
  for (let i = 0; i < logits.length; i++) weights[i] = Math.exp(logits[i] - max);
  return weights;
}
