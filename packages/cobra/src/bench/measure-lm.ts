import type { FloatRows, LanguageModel, LanguageModelState } from "@cobra-ts/core";
import { argmax } from "@cobra-ts/mamba-lm";

export type PrefixRows = FloatRows;

export interface PrefillTiming {
  ms: number;
  positions: number;
  firstToken: number;
  state: LanguageModelState;
}

export interface DecodeTiming {
  tokens: number;
  /** Sum of the step times (sampling included; RSS probes and GCs between steps excluded). */
  ms: number;
  stepMs: number[];
  /**
   * RSS growth from token 16 to the last token (null with 16 tokens or fewer): the lowest RSS after a full GC
   * over a few tokens from 16 on, against the same over the last few. Each step frees tens of MB of state
   * tensors whose native memory returns a little later, so single samples swing by that much either way; the
   * window minimum removes that swing and keeps any real growth.
   */
  rssGrowth: number | null;
  /** Largest RSS seen after any step. */
  rssMax: number;
}

/** Prefill of [prefix rows | prompt ids] and the greedy pick of the first new token, timed together. */
export async function timePrefill(
  lm: LanguageModel,
  prefix: PrefixRows | null,
  ids: number[],
): Promise<PrefillTiming> {
  const t0 = performance.now();
  const out = await lm.prefill({ ...(prefix ? { prefixEmbeds: prefix } : {}), ids });
  const firstToken = argmax(out.logits.data);
  const ms = performance.now() - t0;
  return { ms, positions: (prefix?.shape[1] ?? 0) + ids.length, firstToken, state: out.state };
}

/** The protocol: RSS must not grow from token 16 on, since the state is constant. */
const RSS_FROM_TOKEN = 16;
const RSS_WINDOW = 8;

/** Which tokens RSS is sampled at (after a GC): a window from token 16 and one at the end, or none. */
function rssWindows(tokens: number): { first: Set<number>; last: Set<number> } | null {
  if (tokens <= RSS_FROM_TOKEN) return null;
  const w = Math.max(1, Math.min(RSS_WINDOW, Math.floor((tokens - RSS_FROM_TOKEN + 1) / 2)));
  const range = (from: number) => new Set(Array.from({ length: w }, (_, i) => from + i));
  return { first: range(RSS_FROM_TOKEN), last: range(tokens - w + 1) };
}

/**
 * Greedy decode of `tokens` new tokens, end of text ignored (the paper's speed protocol always generates the
 * full count). Each step is timed on its own so RSS probes and forced GCs between steps are not counted.
 */
export async function timeDecode(
  lm: LanguageModel,
  state: LanguageModelState,
  firstToken: number,
  tokens: number,
  collectGarbage: (() => void) | null,
): Promise<DecodeTiming> {
  const stepMs: number[] = [];
  const windows = rssWindows(tokens);
  let firstMin = Number.POSITIVE_INFINITY;
  let lastMin = Number.POSITIVE_INFINITY;
  let rssMax = 0;
  let id = firstToken;
  for (let i = 1; i <= tokens; i++) {
    const t0 = performance.now();
    const out = await lm.step(id, state);
    id = argmax(out.logits.data);
    stepMs.push(performance.now() - t0);
    state = out.state;
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
    if (windows?.first.has(i) || windows?.last.has(i)) {
      collectGarbage?.();
      const rss = process.memoryUsage.rss();
      if (windows.first.has(i)) firstMin = Math.min(firstMin, rss);
      if (windows.last.has(i)) lastMin = Math.min(lastMin, rss);
    }
  }
  const ms = stepMs.reduce((a, b) => a + b, 0);
  return { tokens, ms, stepMs, rssGrowth: windows ? lastMin - firstMin : null, rssMax };
}

/**
 * A way to run a full GC, so RSS growth measures what is retained rather than when V8 last collected the
 * state tensors of earlier steps. Uses V8's gc when the process exposes it (or can be made to); else null.
 */
export async function findGarbageCollector(): Promise<(() => void) | null> {
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === "function") return global.gc;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    return typeof gc === "function" ? gc : null;
  } catch {
    return null;
  }
}
