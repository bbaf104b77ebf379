import { InvalidArgumentError, PromptTooLongError } from "@cobra-ts/core";

export interface PromptLengthOptions {
  /**
   * Most prompt token ids (prefix embeddings and a starting state do not count, as in Cobra, whose
   * tokenizer has model_max_length = llm_max_length = 2048 and truncation=True). Default: no limit.
   */
  maxPromptLength?: number;
  /**
   * What a longer prompt gets: "refuse" (default) throws PromptTooLongError naming the limit; "truncate"
   * keeps the first maxPromptLength ids exactly like Cobra's tokenizer call (right truncation, which cuts
   * off the end of the prompt, i.e. the `<|assistant|>` cue of a chat prompt).
   */
  promptOverflow?: "refuse" | "truncate";
}

/** Applies the prompt length policy to already encoded ids. */
export function limitPromptIds(ids: readonly number[], options: PromptLengthOptions): number[] {
  const limit = options.maxPromptLength ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 1))
    throw new InvalidArgumentError(`maxPromptLength must be a positive integer, got ${String(limit)}`);
  const overflow = options.promptOverflow ?? "refuse";
  if (overflow !== "refuse" && overflow !== "truncate")
    throw new InvalidArgumentError(`promptOverflow must be "refuse" or "truncate", got ${String(overflow)}`);
  if (ids.length <= limit) return [...ids];
  if (overflow === "truncate") return ids.slice(0, limit);
  throw new PromptTooLongError(ids.length, limit);
}
