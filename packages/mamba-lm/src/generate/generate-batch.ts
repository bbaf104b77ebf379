import {
  type FloatRows,
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelState,
  throwIfAborted,
} from "@cobra-ts/core";
import { createRng } from "../sampling/rng.js";
import type { GenerateOptions, GenerateResult } from "./generate.js";
import {
  checkSequenceOptions,
  GeneratedSequence,
  type GenerationTokenizer,
  promptIdsOf,
} from "./sequence.js";

export interface GenerateBatchOptions<S extends LanguageModelState = LanguageModelState>
  extends Omit<GenerateOptions<S>, "prefixEmbeds" | "state"> {
  /** [n, P, d_model] (one prefix per prompt) or [1, P, d_model] (one prefix for all). */
  prefixEmbeds?: FloatRows;
  /** A starting state of batch n, or of batch 1 shared by every prompt (e.g. one image, many questions). */
  state?: S;
}

/**
 * Generates continuations of several prompts at once. Prompts of any lengths are prefilled one by one (Mamba
 * has no attention mask, so padding would change the state), then decoded together in one batch whose
 * finished rows are dropped as they stop. Results are exactly those of `generate` per prompt; with sampling,
 * one RNG serves the rows in order, so seeded results differ from one-by-one runs.
 */
export async function generateBatch<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  tokenizer: GenerationTokenizer,
  prompts: readonly (string | readonly number[])[],
  options: GenerateBatchOptions<S> = {},
): Promise<GenerateResult<S>[]> {
  const stop = checkSequenceOptions(tokenizer, options);
  const n = prompts.length;
  if (!Array.isArray(prompts) || n === 0) throw new InvalidArgumentError("prompts must be a non-empty array");
  const prefixRows = options.prefixEmbeds?.shape[0];
  if (prefixRows !== undefined && prefixRows !== 1 && prefixRows !== n)
    throw new InvalidArgumentError(
      `prefixEmbeds has batch ${prefixRows}; give 1 (shared) or ${n} (one per prompt)`,
    );
  if (options.state && options.state.batch !== 1 && options.state.batch !== n)
    throw new InvalidArgumentError(
      `state has batch ${options.state.batch}; give 1 (shared) or ${n} (one per prompt)`,
    );
  const sequences = prompts.map(
    (p) => new GeneratedSequence(promptIdsOf(tokenizer, p, options), tokenizer, stop, options),
  );
  const rng = options.rng ?? createRng(options.seed);

  let t0 = performance.now();
  const logits: Float32Array[] = [];
  const prefillLogits: Float32Array[] = [];
  const states: S[] = [];
  for (const [row, sequence] of sequences.entries()) {
    throwIfAborted(options.signal);
    const start = options.state && lm.selectRows(options.state, [options.state.batch === 1 ? 0 : row]);
    const input = { prefixEmbeds: prefixRow(options.prefixEmbeds, row), ids: sequence.promptIds };
    const r = await lm.prefill(input, start, { signal: options.signal });
    logits.push(r.logits.data);
    prefillLogits.push(r.logits.data);
    states.push(r.state);
  }
  const prefillMs = performance.now() - t0;
  t0 = performance.now();

  const results: GenerateResult<S>[] = new Array(n);
  const finish = (row: number, state: S) => {
    const s = sequences[row];
    results[row] = {
      ids: s.ids,
      text: s.finalText,
      stopReason: s.stopReason!,
      promptIds: s.promptIds,
      state,
      prefillLogits: prefillLogits[row],
      timings: { prefillMs, decodeMs: performance.now() - t0 },
    };
  };
  // `active` maps batch rows of `state` to prompt indices.
  let active = sequences.map((_, row) => row);
  let state = lm.stackStates(states);
  while (active.length > 0) {
    throwIfAborted(options.signal);
    const next = active.map((row, i) =>
      sequences[row].done ? -1 : sequences[row].next(logits[i], rng).token,
    );
    const keep = active.map((_, i) => i).filter((i) => !sequences[active[i]].done);
    for (const [i, row] of active.entries()) if (sequences[row].done) finish(row, lm.selectRows(state, [i]));
    if (keep.length === 0) break;
    if (keep.length < active.length) state = lm.selectRows(state, keep);
    active = keep.map((i) => active[i]);
    const r = await lm.step(
      keep.map((i) => next[i]),
      state,
      { signal: options.signal },
    );
    state = r.state;
    logits.length = 0;
    for (let i = 0; i < active.length; i++)
      logits.push(r.logits.data.subarray(i * r.logits.shape[1], (i + 1) * r.logits.shape[1]));
  }
  return results;
}

function prefixRow(prefix: FloatRows | undefined, row: number): FloatRows | undefined {
  if (!prefix) return undefined;
  const [rows, p, d] = prefix.shape;
  const r = rows === 1 ? 0 : row;
  return { data: prefix.data.subarray(r * p * d, (r + 1) * p * d), shape: [1, p, d] };
}
