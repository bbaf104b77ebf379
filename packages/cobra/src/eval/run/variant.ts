import { InvalidArgumentError } from "@cobra-ts/core";
import { resolveSamplingOptions, type SamplingOptions } from "@cobra-ts/mamba-lm";
import type { EvalTask } from "../task.js";

/** Decoding settings of the free-text answers (the official harness decodes greedily: the defaults). */
export interface DecodingVariant extends SamplingOptions {
  /** The sampler's seed. */
  seed?: number;
}

/** What `--variant` changes in the runner itself. */
export interface RunnerVariant {
  /** `image_reuse=off`: a full `generate` per question (the image encoded again each time), for comparison. */
  imageReuse: boolean;
  /** `batch=N`: most questions of one image decoded together (default 32). */
  batch: number;
  /** `max_new_tokens=N`: overrides the task's token limit. */
  maxNewTokens?: number;
  /** `do_sample`, `temperature`, `top_k`, `top_p`, `repetition_penalty`, `sample_seed`; empty: greedy. */
  decoding: DecodingVariant;
}

/** Decoding keys and the generation option each sets. */
const DECODING_KEYS = {
  do_sample: "doSample",
  temperature: "temperature",
  top_k: "topK",
  top_p: "topP",
  repetition_penalty: "repetitionPenalty",
  sample_seed: "seed",
} as const;

export const RUNNER_VARIANT_KEYS = [
  "image_reuse",
  "batch",
  "max_new_tokens",
  ...Object.keys(DECODING_KEYS),
] as const;
const DEFAULT_BATCH = 32;

/** Parses `key=value` arguments; a key given twice or without "=" is refused. */
export function parseVariantArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`--variant ${JSON.stringify(arg)}: expected key=value`);
    const key = arg.slice(0, eq);
    if (key in out) throw new InvalidArgumentError(`--variant ${key} is given twice`);
    out[key] = arg.slice(eq + 1);
  }
  return out;
}

/**
 * The runner's keys read from `variant`; a key that neither the runner, the caller nor the task reads is an
 * error (a task without `variantKeys` reads none).
 */
export function runnerVariant(
  variant: Readonly<Record<string, string>>,
  otherKeys: readonly string[],
  task: Pick<EvalTask, "name" | "variantKeys">,
): RunnerVariant {
  const known = new Set<string>([...RUNNER_VARIANT_KEYS, ...(task.variantKeys ?? []), ...otherKeys]);
  for (const key of Object.keys(variant))
    if (!known.has(key))
      throw new InvalidArgumentError(
        `--variant ${key}: not a setting of ${task.name} or of the runner; known: ${[...known].sort().join(", ")}`,
      );
  const reuse = variant.image_reuse ?? "on";
  if (reuse !== "on" && reuse !== "off")
    throw new InvalidArgumentError(`--variant image_reuse=${reuse}: give on or off`);
  return {
    imageReuse: reuse === "on",
    batch: variant.batch === undefined ? DEFAULT_BATCH : positive(variant.batch, "batch"),
    maxNewTokens:
      variant.max_new_tokens === undefined ? undefined : positive(variant.max_new_tokens, "max_new_tokens"),
    decoding: decodingVariant(variant),
  };
}

/** The decoding keys as generation options, checked by the same rules `generate` applies. */
function decodingVariant(variant: Readonly<Record<string, string>>): DecodingVariant {
  const out: Record<string, boolean | number> = {};
  for (const [key, option] of Object.entries(DECODING_KEYS)) {
    const value = variant[key];
    if (value === undefined) continue;
    if (key === "do_sample") {
      if (value !== "true" && value !== "false")
        throw new InvalidArgumentError(`--variant do_sample=${value}: give true or false`);
      out[option] = value === "true";
    } else {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n))
        throw new InvalidArgumentError(`--variant ${key}=${value}: give a number`);
      if ((key === "top_k" || key === "sample_seed") && !Number.isSafeInteger(n))
        throw new InvalidArgumentError(`--variant ${key}=${value}: give a whole number`);
      out[option] = n;
    }
  }
  try {
    resolveSamplingOptions(out);
  } catch (e) {
    // The rule as generate words it, named by the variant keys.
    const message = (e as Error).message.replace(
      /^(\w+)/,
      (name) => Object.entries(DECODING_KEYS).find(([, o]) => o === name)?.[0] ?? name,
    );
    throw new InvalidArgumentError(`--variant ${message}`, { cause: e });
  }
  return out as DecodingVariant;
}

/** Whether any decoding key is set (a choice task, answered from the first step's probabilities, refuses them). */
export function setsDecoding(runner: RunnerVariant): boolean {
  return Object.keys(runner.decoding).length > 0;
}

function positive(value: string, key: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`--variant ${key}=${value}: give a whole number >= 1`);
  return n;
}
