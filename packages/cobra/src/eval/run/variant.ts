import { InvalidArgumentError } from "@cobra-ts/core";
import type { EvalTask } from "../task.js";

/** What `--variant` changes in the runner itself. */
export interface RunnerVariant {
  /** `image_reuse=off`: a full `generate` per question (the image encoded again each time), for comparison. */
  imageReuse: boolean;
  /** `batch=N`: most questions of one image decoded together (default 32). */
  batch: number;
  /** `max_new_tokens=N`: overrides the task's token limit. */
  maxNewTokens?: number;
}

export const RUNNER_VARIANT_KEYS = ["image_reuse", "batch", "max_new_tokens"] as const;
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

/** The runner's keys read from `variant`; a key that neither the runner, the caller nor the task reads is an error. */
export function runnerVariant(
  variant: Readonly<Record<string, string>>,
  otherKeys: readonly string[],
  task: Pick<EvalTask, "name" | "variantKeys">,
): RunnerVariant {
  const known = new Set<string>([...RUNNER_VARIANT_KEYS, ...otherKeys]);
  if (task.variantKeys)
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
  };
}

function positive(value: string, key: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`--variant ${key}=${value}: give a whole number >= 1`);
  return n;
}
