import { describe, expect, it } from "vitest";
import { countBoxes, iou, normalizedBox, parseBox, pythonRound2 } from "./refcoco.js";

// Expected values: what CPython 3.11 printed for vlm-evaluation's parse_bbox (ast.literal_eval + its three
// assertions), box_xywh2xyxy and round(x, 2) on these inputs; IoUs worked out by hand from compute_iou.
describe("RefCOCO scoring (vlm-evaluation harnesses/refcoco.py)", () => {
  it.each([
    ["[0.1, 0.2, 0.3, 0.4]", [0.1, 0.2, 0.3, 0.4]],
    ["[0.1,0.2,0.3,0.4,]", [0.1, 0.2, 0.3, 0.4]],
    ["[0, 0, 1, 1]", [0, 0, 1, 1]],
    ["[False, False, True, True]", [0, 0, 1, 1]],
    ["[-0.0, 0.1, 0.5, 0.6]", [-0, 0.1, 0.5, 0.6]],
    ["[.1, 2e-1, 0.3, 4_0e-2]", [0.1, 0.2, 0.3, 0.4]],
    ["[(0.1), 0.2, 0.3, 0.4]", [0.1, 0.2, 0.3, 0.4]],
    ["[0x0, 0, 1, 1]", [0, 0, 1, 1]],
    ["[0.1, 0.2, 0.3, 0.4]  # box", [0.1, 0.2, 0.3, 0.4]],
    ["[1.e-1, 0.2, 0.3, 0.4]", [0.1, 0.2, 0.3, 0.4]],
    ["[+0.1, 0.2, 0.3, 0.4]", [0.1, 0.2, 0.3, 0.4]],
    ["([0.1, 0.2, 0.3, 0.4])", [0.1, 0.2, 0.3, 0.4]],
    ["[0.1, 0.2, 0.3, 0.4\n]", [0.1, 0.2, 0.3, 0.4]],
    ["   [0.1, 0.2, 0.3, 0.4]", [0.1, 0.2, 0.3, 0.4]],
  ])("parse_bbox(%j) is a box", (text, box) => {
    expect(parseBox(text)).toEqual(box);
  });

  it.each([
    "(0.1, 0.2, 0.3, 0.4)",
    "[0.1, 0.2, 0.3]",
    "[0.3, 0.2, 0.1, 0.4]",
    "[0.1, 0.2, 0.3, 1.2]",
    "['0.1', 0.2, 0.3, 0.4]",
    "[0.1, 0.2, 0.3, 0.4] is the box",
    "[0.1, 0.2, 0.3, 0.4j]",
    "[--0.1, 0.2, 0.3, 0.4]",
    "[0.1, 0.2, 0.3, 0.4].",
    "[01, 0, 1, 1]",
    "[[0.1], 0.2, 0.3, 0.4]",
    "[None, 0.2, 0.3, 0.4]",
    "[-True, 0, 1, 1]",
    "[0.1 0.2 0.3 0.4]",
    "",
    "[0.1, 0.2, 0.3, 0.4] [0.5]",
  ])("parse_bbox(%j) is None (invalid, counted wrong)", (text) => {
    expect(parseBox(text)).toBeNull();
  });

  it("round(x, 2) as Python: the exact binary value, exact ties to even", () => {
    const cases: [number, number][] = [
      [0.125, 0.12],
      [0.375, 0.38],
      [0.625, 0.62],
      [0.875, 0.88],
      [2.675, 2.67],
      [0.345, 0.34],
      [0.005, 0.01],
      [1 / 3, 0.33],
      [0.285, 0.28],
      [0.115, 0.12],
    ];
    for (const [x, r] of cases) expect(pythonRound2(x)).toBe(r);
  });

  it("box_xywh2xyxy normalizes and rounds; its failed assertions give null", () => {
    expect(normalizedBox([10, 20, 30, 40], 100, 200)).toEqual([0.1, 0.1, 0.4, 0.3]);
    expect(normalizedBox([12.5, 7.3, 101.07, 55.55], 640, 427)).toEqual([0.02, 0.02, 0.18, 0.15]);
    expect(normalizedBox([90, 0, 20, 10], 100, 100)).toBeNull(); // x2 > width
    expect(normalizedBox([10, 10, 0, 10], 100, 100)).toBeNull(); // zero width
  });

  it("IoU and Acc@0.5: >= 0.5 is right, invalid answers are wrong", () => {
    expect(iou([0, 0, 0.5, 0.5], [0, 0, 0.5, 0.5])).toBe(1);
    // intersection 0.125, union 0.25 + 0.25 - 0.125 = 0.375
    expect(iou([0, 0, 0.5, 0.5], [0.25, 0, 0.75, 0.5])).toBeCloseTo(1 / 3, 12);
    // intersection 0.25, union 0.3 + 0.25 - 0.25 = 0.3
    expect(iou([0, 0, 0.6, 0.5], [0.1, 0, 0.6, 0.5])).toBeCloseTo(0.25 / 0.3, 12);
    expect(iou([0, 0, 0.2, 0.2], [0.5, 0.5, 1, 1])).toBe(0);
    const counts = countBoxes([
      { answer: "[0, 0, 1, 1]", truth: [0, 0, 0.5, 1] }, // IoU exactly 0.5: correct
      { answer: "[0, 0, 0.5, 0.5]", truth: [0.25, 0, 0.75, 0.5] }, // 1/3: incorrect
      { answer: "the box is [0, 0, 1, 1]", truth: [0, 0, 1, 1] }, // invalid
      { answer: "[0.1, 0.0, 0.6, 0.5]", truth: [0, 0, 0.6, 0.5] }, // 0.25/0.3: correct
    ]);
    expect(counts).toEqual({ correct: 2, incorrect: 1, invalid: 1 });
  });
});
