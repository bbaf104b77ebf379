import { describe, expect, it } from "vitest";
import { batchInput, pickPrefillBatch, type Segment } from "./prefill-batch.js";

const ids = (n: number, at = 0): { pending: Segment[]; name: string } => ({
  pending: [{ ids: Array.from({ length: n }, (_, i) => 100 + i), at }],
  name: `ids${n}@${at}`,
});
const rows = (p: number, at = 0) => ({
  pending: [{ rows: { data: new Float32Array(p * 2).map((_, i) => i), shape: [1, p, 2] as const }, at }],
  name: `rows${p}@${at}`,
});
const names = (pick: { length: number; slots: { name: string }[] }) => ({
  length: pick.length,
  slots: pick.slots.map((s) => s.name),
});

describe("pickPrefillBatch", () => {
  it("runs prompts of one length together, within the budget", () => {
    expect(names(pickPrefillBatch([ids(20), ids(20), ids(20)], 256))).toEqual({
      length: 20,
      slots: ["ids20@0", "ids20@0", "ids20@0"],
    });
    // 3 x 20 is over a budget of 50: two of them, oldest first.
    expect(names(pickPrefillBatch([ids(20), ids(21), ids(22)], 50))).toEqual({
      length: 20,
      slots: ["ids20@0", "ids21@0"],
    });
  });

  it("cuts the longer ones to the length that runs the most positions, and keeps the oldest in", () => {
    // 12 x 3 = 36 beats 30 x 1 (the oldest alone) and 20 x 2 = 40 wins over both.
    expect(names(pickPrefillBatch([ids(30), ids(20), ids(12)], 256))).toEqual({
      length: 20,
      slots: ["ids30@0", "ids20@0"],
    });
    // A short newcomer does not cut the oldest's long chunk down to its length: 3 x 2 < 100.
    expect(names(pickPrefillBatch([ids(100), ids(2), ids(2)], 256))).toEqual({
      length: 100,
      slots: ["ids100@0"],
    });
    // Positions already run count: 40 left of 50.
    expect(names(pickPrefillBatch([ids(50, 10), ids(40)], 256)).length).toBe(40);
  });

  it("never mixes image rows with ids, and caps one call at the budget", () => {
    expect(names(pickPrefillBatch([rows(729), ids(20), rows(729, 64)], 128))).toEqual({
      length: 64,
      slots: ["rows729@0", "rows729@64"],
    });
    expect(names(pickPrefillBatch([ids(20), rows(5), ids(20)], 256)).slots).toEqual(["ids20@0", "ids20@0"]);
  });
});

describe("batchInput", () => {
  it("stacks each segment's next positions as rows of one batch", () => {
    expect(batchInput([ids(5, 1).pending[0], ids(4, 2).pending[0]], 2)).toEqual({
      ids: [
        [101, 102],
        [102, 103],
      ],
    });
    const input = batchInput([rows(3, 1).pending[0], rows(4, 0).pending[0]], 2);
    expect(input.prefixEmbeds?.shape).toEqual([2, 2, 2]);
    expect([...(input.prefixEmbeds?.data ?? [])]).toEqual([2, 3, 4, 5, 0, 1, 2, 3]);
  });
});
