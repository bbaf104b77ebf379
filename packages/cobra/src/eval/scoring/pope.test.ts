import { describe, expect, it } from "vitest";
import { popeMetrics, popeTextAnswer } from "./pope.js";

// Expected values worked out by hand from RUCAIBox/POPE evaluate.py: keep the text before the first ".", drop
// commas, split on " ", "no" iff a word is exactly "No", "not" or "no".
describe("POPE's text rule (evaluate.py)", () => {
  it.each([
    ["Yes, there is a dog.", "yes"],
    ["No.", "no"],
    ["no.", "no"],
    ["There is no dog in the image.", "no"],
    ["no, it is not", "no"],
    ["It is not there", "no"],
    // only the first sentence counts
    ["It is a dog. No other animals", "yes"],
    // words are split on single spaces and compared exactly: these read as "yes"
    ["Not really", "yes"],
    ["Nope", "yes"],
    ["NO", "yes"],
    ["No\nthere is none", "yes"],
    ["", "yes"],
  ])("%j -> %s", (text, expected) => {
    expect(popeTextAnswer(text)).toBe(expected);
  });
});

describe("POPE metrics (evaluate.py, in percent)", () => {
  const p = (predictedYes: boolean, labelYes: boolean) => ({ predictedYes, labelYes });

  it("TP 2, FP 1, TN 1, FN 1", () => {
    const m = popeMetrics([p(true, true), p(true, false), p(false, false), p(false, true), p(true, true)]);
    // precision = 2/3, recall = 2/3, f1 = 2pr/(p+r) = 2/3, accuracy = 3/5, yes ratio = 3/5
    expect(m.precision).toBeCloseTo(200 / 3, 10);
    expect(m.recall).toBeCloseTo(200 / 3, 10);
    expect(m.f1).toBeCloseTo(200 / 3, 10);
    expect(m.accuracy).toBeCloseTo(60, 10);
    expect(m.yes_ratio).toBeCloseTo(60, 10);
  });

  it("TP 3, FP 1, TN 0, FN 2: precision and recall differ", () => {
    const m = popeMetrics([
      p(true, true),
      p(true, true),
      p(true, true),
      p(true, false),
      p(false, true),
      p(false, true),
    ]);
    // precision 3/4, recall 3/5, f1 = 2 * 0.75 * 0.6 / 1.35 = 2/3, accuracy 3/6, yes ratio 4/6
    expect(m.precision).toBeCloseTo(75, 10);
    expect(m.recall).toBeCloseTo(60, 10);
    expect(m.f1).toBeCloseTo(200 / 3, 10);
    expect(m.accuracy).toBeCloseTo(50, 10);
    expect(m.yes_ratio).toBeCloseTo(400 / 6, 10);
  });

  it("no 'yes' predicted: precision, recall and F1 are 0 where evaluate.py divides by zero", () => {
    const m = popeMetrics([p(false, true), p(false, false)]);
    expect(m).toEqual({ accuracy: 50, precision: 0, recall: 0, f1: 0, yes_ratio: 0 });
  });
});
