import { describe, expect, it } from "vitest";
import { slimSubset } from "./subset.js";

// Expected values were printed by CPython 3.11 running vlm-evaluation's own slim-set logic (build_*_indices:
// `Random(seed).shuffle(all_qids)`, then the first n; POPE/RefCOCO: the first n per part of one shuffled list).
describe("slimSubset takes vlm-evaluation's slim sets", () => {
  const ids = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110];

  it("the first n of Random(seed).shuffle over the file order", () => {
    expect(slimSubset(ids, 4)).toEqual([108, 101, 105, 102]); // seed 21, vlm-evaluation's default
    expect(slimSubset(ids, 4, 7)).toEqual([109, 104, 102, 105]);
    expect(slimSubset(ids, 50)).toHaveLength(10);
    expect(slimSubset(ids, 0)).toEqual([]);
  });

  it("a part of a larger shuffled list: POPE's splits in the order adversarial (4), popular (3), random (5)", () => {
    const part = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}-${i + 1}`);
    // Python: slim-2 = ['random-2', 'adversarial-1', 'random-5', 'popular-2', 'adversarial-4', 'popular-1']
    expect(slimSubset(part("adversarial", 4), 2, 21, { size: 12, offset: 0 })).toEqual([
      "adversarial-1",
      "adversarial-4",
    ]);
    expect(slimSubset(part("popular", 3), 2, 21, { size: 12, offset: 4 })).toEqual([
      "popular-2",
      "popular-1",
    ]);
    expect(slimSubset(part("random", 5), 2, 21, { size: 12, offset: 7 })).toEqual(["random-2", "random-5"]);
  });

  it("refuses a negative limit and a pool too small for the part", () => {
    expect(() => slimSubset(ids, -1)).toThrow(/--limit/);
    expect(() => slimSubset(ids, 2, 21, { size: 5, offset: 0 })).toThrow(/cannot hold/);
  });
});
