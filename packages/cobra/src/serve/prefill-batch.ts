import type { FloatRows, LanguageModelInput } from "@cobra-ts/core";

/** Positions of one request still to prefill: its image's LM rows [1, P, dModel] or its prompt ids, from `at`. */
export type Segment = { rows: FloatRows; at: number } | { ids: readonly number[]; at: number };

export function segmentLength(segment: Segment): number {
  return "rows" in segment ? segment.rows.shape[1] : segment.ids.length;
}

/** A batched prefill call: these sequences (oldest first) each advance by `length` positions. */
export interface PrefillPick<T> {
  length: number;
  slots: T[];
}

/**
 * Chooses the next batched prefill call among sequences ready to prefill, in arrival order. The oldest always
 * runs (nobody starves); the others join when their next positions are of its kind and at least as many. Of
 * the lengths that include the oldest (the others' remaining lengths; shares of the budget when the oldest's
 * segment is longer than it), the one that runs the most positions in all wins (the shorter on a tie: more
 * sequences move on), with rows x length at most `budget` positions.
 */
export function pickPrefillBatch<T extends { pending: Segment[] }>(
  ready: readonly T[],
  budget: number,
): PrefillPick<T> {
  const remaining = (s: T) => segmentLength(s.pending[0]) - s.pending[0].at;
  const oldest = ready[0];
  const kind = (s: T) => "rows" in s.pending[0];
  const alike = ready.filter((s) => kind(s) === kind(oldest));
  const cap = Math.min(remaining(oldest), budget);
  const lengths = new Set([cap, ...alike.map(remaining).filter((n) => n < cap)]);
  // Segments longer than the budget (an image's rows) share it: k of them advance budget / k positions each.
  if (cap === budget)
    for (let k = 2; k <= alike.length; k++) lengths.add(Math.max(1, Math.floor(budget / k)));
  let best: PrefillPick<T> = { length: cap, slots: [oldest] };
  for (const length of lengths) {
    const slots = alike.filter((s) => remaining(s) >= length).slice(0, Math.floor(budget / length));
    const work = slots.length * length;
    const bestWork = best.slots.length * best.length;
    if (work > bestWork || (work === bestWork && length < best.length)) best = { length, slots };
  }
  return best;
}

/** The next `length` positions of each segment (all of one kind) as one input of their batch, rows in order. */
export function batchInput(segments: readonly Segment[], length: number): LanguageModelInput {
  const first = segments[0];
  if ("ids" in first)
    return {
      ids: segments.map((s) => (s as { ids: readonly number[] }).ids.slice(s.at, s.at + length)),
    };
  const d = first.rows.shape[2];
  const data = new Float32Array(segments.length * length * d);
  segments.forEach((s, b) => {
    const { rows } = s as { rows: FloatRows };
    data.set(rows.data.subarray(s.at * d, (s.at + length) * d), b * length * d);
  });
  return { prefixEmbeds: { data, shape: [segments.length, length, d] } };
}
