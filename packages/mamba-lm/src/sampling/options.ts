import { InvalidArgumentError } from "@cobra-ts/core";

/**
 * Sampling options with the names and defaults of Cobra's `generate` (cobra/models/mamba/modeling_mamba.py)
 * and mamba_ssm 1.2.2 `sample()`. The defaults decode greedily.
 */
export interface SamplingOptions {
  /** false (default) forces topK = 1, i.e. greedy, whatever the other options say (as Cobra does). */
  doSample?: boolean;
  /** 1 (default) = greedy argmax; 0 = no top-k; k > 1 = sample among the k largest logits. */
  topK?: number;
  /** Nucleus sampling; 0 (default) or 1 disables it. Must be in [0, 1]. */
  topP?: number;
  /** Only used when topK = 0, with mamba_ssm 1.2.2 semantics (see filterMinPMamba122). Must be in [0, 1). */
  minP?: number;
  /** Logits are divided by it before top-p; 1 (default) leaves them. Must be > 0 unless decoding greedily. */
  temperature?: number;
  /** CTRL penalty on ids seen before (prompt + generated); 1 (default) = none. Must be > 0. */
  repetitionPenalty?: number;
}

export type ResolvedSamplingOptions = Required<Omit<SamplingOptions, "doSample">>;

/** Checks the options and applies the defaults and the doSample rule. */
export function resolveSamplingOptions(options: SamplingOptions = {}): ResolvedSamplingOptions {
  const doSample = options.doSample ?? false;
  if (typeof doSample !== "boolean") throw invalid("doSample", "must be a boolean", doSample);
  const requestedTopK = options.topK ?? 1;
  if (!Number.isSafeInteger(requestedTopK) || requestedTopK < 0) {
    throw invalid("topK", "must be an integer >= 0 (0 = no top-k, 1 = greedy)", requestedTopK);
  }
  const topK = doSample ? requestedTopK : 1;
  const topP = options.topP ?? 0;
  if (!isNumber(topP) || topP < 0 || topP > 1) throw invalid("topP", "must be in (0, 1] (or 0 = off)", topP);
  const minP = options.minP ?? 0;
  if (!isNumber(minP) || minP < 0 || minP >= 1) throw invalid("minP", "must be in [0, 1)", minP);
  const repetitionPenalty = options.repetitionPenalty ?? 1;
  if (!isNumber(repetitionPenalty) || repetitionPenalty <= 0) {
    throw invalid("repetitionPenalty", "must be > 0 (1 = no penalty)", repetitionPenalty);
  }
  const temperature = options.temperature ?? 1;
  // Greedy decoding never reads the temperature (mamba_ssm short-circuits top_k == 1), so `temperature: 0`
  // with greedy is accepted like in Cobra; when sampling, mamba_ssm would divide by zero.
  if (!isNumber(temperature) || temperature < 0 || (temperature === 0 && topK !== 1)) {
    throw invalid(
      "temperature",
      "must be > 0 when sampling (0 is only accepted with greedy decoding)",
      temperature,
    );
  }
  return { topK, topP, minP, temperature, repetitionPenalty };
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function invalid(option: string, rule: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${option} ${rule}, got ${String(value)}`);
}
