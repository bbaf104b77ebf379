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
 * Generates continuations of several prompts at once. Prompts of any lengths are prefilled together without
 * padding (see prefillTogether; prompts with prefix rows of their own one by one), then decoded together in one
 * batch whose finished rows are dropped as they stop. Results are exactly those of `generate` per prompt; with sampling,
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
  const prefilled =
    options.prefixEmbeds || sequences.some((s) => s.promptIds.length === 0)
      ? await prefillEach(lm, sequences, options)
      : await prefillTogether(lm, sequences, options);
  const prefillLogits: Float32Array[] = new Array(n);
  for (const [i, row] of prefilled.rows.entries()) prefillLogits[row] = prefilled.logits[i];
  const logits = prefilled.logits;
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
  let active = prefilled.rows;
  let state = prefilled.state;
  while (active.length > 0) {
    throwIfAborted(options.signal);
    // Rows are sampled in prompt order (one RNG serves them all), whatever order the batch holds them in.
    const next: number[] = new Array(active.length);
    for (const i of active.map((_, i) => i).sort((a, b) => active[a] - active[b]))
      next[i] = sequences[active[i]].done ? -1 : sequences[active[i]].next(logits[i], rng).token;
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

/** The prompts prefilled: the state of every row, `rows[i]` being the prompt of batch row i, and its logits. */
interface Prefilled<S> {
  state: S;
  rows: number[];
  logits: Float32Array[];
}

/** The shared or per-row starting state, for rows `rows` of the batch. */
function startRows<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  state: S | undefined,
  rows: readonly number[],
): S | undefined {
  return state && lm.selectRows(state, state.batch === 1 ? rows.map(() => 0) : rows);
}

/** Each prompt prefilled alone (prompts with their own prefix rows, or an empty prompt). */
async function prefillEach<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  sequences: readonly GeneratedSequence[],
  options: GenerateBatchOptions<S>,
): Promise<Prefilled<S>> {
  const logits: Float32Array[] = [];
  const states: S[] = [];
  for (const [row, sequence] of sequences.entries()) {
    throwIfAborted(options.signal);
    const input = { prefixEmbeds: prefixRow(options.prefixEmbeds, row), ids: sequence.promptIds };
    const r = await lm.prefill(input, startRows(lm, options.state, [row]), { signal: options.signal });
    logits.push(r.logits.data);
    states.push(r.state);
  }
  return { state: lm.stackStates(states), rows: sequences.map((_, row) => row), logits };
}

/**
 * The prompts prefilled as one batch without padding (Mamba has no attention mask, so a pad would change the
 * state): every row runs its first L1 ids together, L1 being the shortest length; the rows that are longer run
 * their next ids up to the next length together, and so on. Each row only ever reads its own ids, so its state
 * and logits are those of prefilling it alone, at a few calls of many rows instead of one call per prompt.
 */
async function prefillTogether<S extends LanguageModelState>(
  lm: LanguageModel<S>,
  sequences: readonly GeneratedSequence[],
  options: GenerateBatchOptions<S>,
): Promise<Prefilled<S>> {
  const ids = sequences.map((s) => s.promptIds);
  // Rows by length, shortest first: the rows that end at a length are the first ones still running.
  let running = sequences.map((_, row) => row).sort((a, b) => ids[a].length - ids[b].length);
  let state = startRows(lm, options.state, running) ?? lm.newState(running.length);
  let at = 0;
  const done: Prefilled<S>[] = [];
  while (running.length > 0) {
    throwIfAborted(options.signal);
    const end = ids[running[0]].length;
    const r = await lm.prefill({ ids: running.map((row) => ids[row].slice(at, end)) }, state, {
      signal: options.signal,
    });
    const vocab = r.logits.shape[1];
    const ending = running.filter((row) => ids[row].length === end).length;
    const rowsOf = (from: number, to: number) => [...Array(to - from).keys()].map((i) => from + i);
    const logitsOf = (i: number) => r.logits.data.subarray(i * vocab, (i + 1) * vocab);
    done.push({
      state: ending === running.length ? r.state : lm.selectRows(r.state, rowsOf(0, ending)),
      rows: running.slice(0, ending),
      logits: rowsOf(0, ending).map(logitsOf),
    });
    if (ending < running.length) state = lm.selectRows(r.state, rowsOf(ending, running.length));
    running = running.slice(ending);
    at = end;
  }
  return {
    state: done.length === 1 ? done[0].state : lm.stackStates(done.map((d) => d.state)),
    rows: done.flatMap((d) => d.rows),
    logits: done.flatMap((d) => d.logits),
  };
}

function prefixRow(prefix: FloatRows | undefined, row: number): FloatRows | undefined {
  if (!prefix) return undefined;
  const [rows, p, d] = prefix.shape;
  const r = rows === 1 ? 0 : row;
  return { data: prefix.data.subarray(r * p * d, (r + 1) * p * d), shape: [1, p, d] };
}
