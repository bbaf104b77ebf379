import {
  type FloatRows,
  type LanguageModel,
  type LanguageModelOutput,
  type LanguageModelState,
  throwIfAborted,
} from "@cobra-ts/core";
import { createRng, type Rng } from "../sampling/rng.js";
import type { StopReason } from "../stop.js";
import {
  checkSequenceOptions,
  GeneratedSequence,
  type GenerationTokenizer,
  promptIdsOf,
  type SequenceOptions,
} from "./sequence.js";

export interface GenerateOptions<S extends LanguageModelState = LanguageModelState> extends SequenceOptions {
  /** Seed of the sampler's RNG (only read when sampling). */
  seed?: number;
  /** Or the RNG itself. */
  rng?: Rng;
  /** Embeddings run before the prompt ids, [1, P, d_model] (Cobra: the projected image). */
  prefixEmbeds?: FloatRows;
  /** Start from this state (e.g. saved after a system prompt or an image) instead of a zero state. */
  state?: S;
  signal?: AbortSignal;
}

/**
 * One streamed token and the text that became final with it ("" while held back for UTF-8, clean-up, a stop
 * string or whitespace that the final strip may remove). The texts of all chunks add up to exactly the result's text.
 */
export interface StreamChunk {
  token: number;
  text: string;
}

export interface GenerateResult<S extends LanguageModelState = LanguageModelState> {
  /** Generated ids, the eos id included when generation stopped on it (mamba_ssm's sequences[prompt:]). */
  ids: number[];
  /** Decoded without special tokens, cleaned up, cut at a stop string, stripped: what Cobra's generate returns. */
  text: string;
  stopReason: StopReason;
  /** The prompt ids that were run (after the length policy). */
  promptIds: number[];
  /**
   * The state after the prefix, the prompt and every generated id but the last (the last was sampled from
   * this state's logits and never run): to continue a conversation, feed `ids.at(-1)` first.
   */
  state: S;
  /** The logits the first new token was chosen from ([vocab] at the last prompt position). */
  prefillLogits: Float32Array;
  timings: { prefillMs: number; decodeMs: number };
}

/**
 * Generates a continuation of `prompt` (text, encoded without BOS like Cobra, or ids): greedy unless the
 * sampling options say otherwise (mamba_ssm `decode` semantics), stopping on eos, a stop string or
 * maxNewTokens. Streams {token, text delta}; the async iterator's return value is the GenerateResult.
 * Aborting `signal` rejects the next step with AbortError. Every option is checked before the model runs.
 */
export async function* streamGenerate<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  tokenizer: GenerationTokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions<S> = {},
): AsyncGenerator<StreamChunk, GenerateResult<S>, undefined> {
  const stop = checkSequenceOptions(tokenizer, options);
  const sequence = new GeneratedSequence(promptIdsOf(tokenizer, prompt, options), tokenizer, stop, options);
  const rng = options.rng ?? createRng(options.seed);
  throwIfAborted(options.signal);

  let t0 = performance.now();
  const input = { prefixEmbeds: options.prefixEmbeds, ids: sequence.promptIds };
  let forward: LanguageModelOutput<S> = await lm.prefill(input, options.state, { signal: options.signal });
  const prefillMs = performance.now() - t0;
  const prefillLogits = forward.logits.data;
  t0 = performance.now();
  while (!sequence.done) {
    throwIfAborted(options.signal);
    const chunk = sequence.next(forward.logits.data, rng);
    yield chunk;
    if (!sequence.done) forward = await lm.step(chunk.token, forward.state, { signal: options.signal });
  }
  return {
    ids: sequence.ids,
    text: sequence.finalText,
    stopReason: sequence.stopReason!,
    promptIds: sequence.promptIds,
    state: forward.state,
    prefillLogits,
    timings: { prefillMs, decodeMs: performance.now() - t0 },
  };
}

/** Runs streamGenerate to the end and returns its result. */
export async function generate<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  tokenizer: GenerationTokenizer,
  prompt: string | readonly number[],
  options: GenerateOptions<S> = {},
): Promise<GenerateResult<S>> {
  const it = streamGenerate(lm, tokenizer, prompt, options);
  for (;;) {
    const next = await it.next();
    if (next.done) return next.value;
  }
}
