import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { applyRepetitionPenalty, filterMinPMamba122, filterTopP } from "./logits-processors.js";
import { resolveSamplingOptions, type SamplingOptions } from "./options.js";
import { createRng, type Rng } from "./rng.js";
import { argmax, largestK, sampleNextToken } from "./sample.js";

/** An Rng that always returns `u`, so a draw is the first index whose cumulative weight exceeds u * total. */
const fixed = (u: number): Rng => ({ nextFloat: () => u });
/** Logits whose softmax is exactly `probs` (up to float32 rounding). */
const logitsOf = (probs: number[]) => Float32Array.from(probs.map(Math.log));
const NEG_INF = Number.NEGATIVE_INFINITY;

describe("greedy", () => {
  it("is the argmax, first index on ties (torch.argmax)", () => {
    const logits = Float32Array.from([0.5, 3, -1, 3, 2]);
    expect(sampleNextToken(logits, {}, fixed(0.9))).toBe(1);
    expect(argmax(logits)).toBe(1);
    expect(argmax([1, Number.NaN, 5])).toBe(1); // torch treats NaN as the maximum
  });

  it("is what Cobra does unless doSample is set, whatever topK/temperature say", () => {
    const logits = Float32Array.from([1, 2, 9, 3]);
    const rng = createRng(1);
    for (let i = 0; i < 20; i++) {
      expect(sampleNextToken(logits, { topK: 0, temperature: 0.4 }, rng)).toBe(2);
      expect(sampleNextToken(logits, { doSample: true, temperature: 0.4 }, rng)).toBe(2); // top_k stays 1
    }
    expect(resolveSamplingOptions({ topK: 50 }).topK).toBe(1);
    expect(resolveSamplingOptions({ doSample: true, topK: 50 }).topK).toBe(50);
  });

  it("looks at every logit, also the embedding's padding rows", () => {
    const logits = new Float32Array(50280);
    logits[50279] = 1;
    expect(sampleNextToken(logits, {}, fixed(0))).toBe(50279);
  });
});

describe("top-k", () => {
  it("keeps exactly k candidates, ties broken by index", () => {
    const logits = Float32Array.from([1, 5, 5, 5, 2]);
    const { values, indices } = largestK(logits, 2);
    expect(Array.from(indices)).toEqual([1, 2]);
    expect(Array.from(values)).toEqual([5, 5]);
    const seen = new Set<number>();
    const rng = createRng(3);
    for (let i = 0; i < 200; i++) seen.add(sampleNextToken(logits, { doSample: true, topK: 2 }, rng));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it("selection and full sort agree (k above the selection limit)", () => {
    const rng = createRng(11);
    const logits = Float32Array.from({ length: 5000 }, () => Math.round(rng.nextFloat() * 100) / 10);
    const expected = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
    for (const k of [1, 7, 256, 257, 1000, 5000]) {
      expect(Array.from(largestK(logits, k).indices)).toEqual(expected.slice(0, k));
    }
  });

  it("draws over the top-k in descending order (hand-computed)", () => {
    // probs 0.1 0.2 0.3 0.4 -> descending weights (x 2.5) 1, 0.75, 0.5, 0.25; u = 0.2 -> target 0.5 -> first.
    const logits = logitsOf([0.1, 0.2, 0.3, 0.4]);
    expect(sampleNextToken(logits, { doSample: true, topK: 4 }, fixed(0.2))).toBe(3);
    // Same draw without top-k walks the vocabulary order: 0.25, 0.75 > 0.5 -> index 1.
    expect(sampleNextToken(logits, { doSample: true, topK: 0 }, fixed(0.2))).toBe(1);
    // topK larger than the vocabulary is clamped.
    expect(sampleNextToken(logits, { doSample: true, topK: 100 }, fixed(0.2))).toBe(3);
  });
});

describe("temperature", () => {
  it("divides the logits (hand-computed)", () => {
    // logits [0, ln 4]: weights 0.25, 1 (target 0.3 * 1.25 = 0.375 -> index 1); at T = 2: 0.5, 1
    // (target 0.3 * 1.5 = 0.45 -> index 0).
    const logits = Float32Array.from([0, Math.log(4)]);
    expect(sampleNextToken(logits, { doSample: true, topK: 0 }, fixed(0.3))).toBe(1);
    expect(sampleNextToken(logits, { doSample: true, topK: 0, temperature: 2 }, fixed(0.3))).toBe(0);
  });
});

describe("top-p (mamba_ssm 1.2.2: drop ascending cumulative probability <= 1 - top_p)", () => {
  const kept = (probs: number[], topP: number) => {
    const logits = logitsOf(probs);
    filterTopP(logits, topP);
    return Array.from(logits.keys()).filter((i) => logits[i] !== NEG_INF);
  };

  it("keeps the smallest set of largest tokens whose probability reaches top_p", () => {
    const probs = [0.1, 0.2, 0.3, 0.4]; // ascending cumulative 0.1 0.3 0.6 1.0
    expect(kept(probs, 0.35)).toEqual([3]); // 1 - p = 0.65: drops 0.1, 0.3, 0.6
    expect(kept(probs, 0.5)).toEqual([2, 3]); // 0.5: drops 0.1, 0.3
    expect(kept(probs, 0.75)).toEqual([1, 2, 3]); // 0.25: drops 0.1
    expect(kept(probs, 0.95)).toEqual([0, 1, 2, 3]); // 0.05: drops nothing
    expect(kept([0.4, 0.1, 0.3, 0.2], 0.5)).toEqual([0, 2]); // order of the vocabulary does not matter
  });

  it("is off at 0 and 1", () => {
    expect(kept([0.1, 0.2, 0.3, 0.4], 0)).toEqual([0, 1, 2, 3]);
    expect(kept([0.1, 0.2, 0.3, 0.4], 1)).toEqual([0, 1, 2, 3]);
  });

  it("applies after top-k and temperature in sampling", () => {
    const logits = logitsOf([0.1, 0.2, 0.3, 0.4]);
    const rng = createRng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++)
      seen.add(sampleNextToken(logits, { doSample: true, topK: 0, topP: 0.5 }, rng));
    expect([...seen].sort()).toEqual([2, 3]);
    // top-k 3 renormalizes to 2/9, 3/9, 4/9 (ascending cumulative 0.22, 0.56, 1): top_p 0.5 keeps ids 3, 2.
    seen.clear();
    for (let i = 0; i < 300; i++)
      seen.add(sampleNextToken(logits, { doSample: true, topK: 3, topP: 0.5 }, rng));
    expect([...seen].sort()).toEqual([2, 3]);
  });
});

describe("min-p (mamba_ssm 1.2.2 compares raw logits with min_p)", () => {
  it("drops logits below min_p, only when topK = 0, and then skips top-p", () => {
    const logits = Float32Array.from([0.2, 0.6, 3]);
    const filtered = logits.slice();
    filterMinPMamba122(filtered, 0.5);
    expect(Array.from(filtered)).toEqual([NEG_INF, Math.fround(0.6), 3]);
    // u = 0: the first token with a positive probability.
    expect(sampleNextToken(logits, { doSample: true, topK: 0, minP: 0.5 }, fixed(0))).toBe(1);
    expect(sampleNextToken(logits, { doSample: true, topK: 0, minP: 0.5, topP: 0.01 }, fixed(0))).toBe(1);
    expect(sampleNextToken(logits, { doSample: true, topK: 3, minP: 0.5 }, fixed(0.99))).toBe(0);
  });
});

describe("repetition penalty", () => {
  it("divides positive and multiplies negative logits of seen ids, once per id (hand-computed)", () => {
    const logits = Float32Array.from([2, -1, 0.5, 3, -4]);
    applyRepetitionPenalty(logits, [0, 1, 1, 4], 2);
    expect(Array.from(logits)).toEqual([1, -2, 0.5, 3, -8]);
  });

  it("applies before greedy decoding and leaves the caller's logits alone", () => {
    const logits = Float32Array.from([3, 2.9]);
    expect(sampleNextToken(logits, { repetitionPenalty: 1.1 }, fixed(0), [0])).toBe(1); // 3 / 1.1 = 2.73
    expect(Array.from(logits)).toEqual([3, Math.fround(2.9)]);
    expect(() => sampleNextToken(logits, { repetitionPenalty: 1.1 }, fixed(0), [2])).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("seeded sampling", () => {
  it("is reproducible", () => {
    const logits = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const options: SamplingOptions = { doSample: true, topK: 0, topP: 0.9, temperature: 0.7 };
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 50 }, () => sampleNextToken(logits, options, rng));
    };
    expect(run(2024)).toEqual(run(2024));
    expect(run(2024)).not.toEqual(run(2025));
  });
});

describe("option validation", () => {
  const logits = Float32Array.from([1, 2]);
  it.each([
    [{ doSample: true, topK: 0, temperature: 0 }, "temperature"],
    [{ temperature: -1 }, "temperature"],
    [{ temperature: Number.NaN }, "temperature"],
    [{ topP: 1.5 }, "topP"],
    [{ topP: -0.1 }, "topP"],
    [{ topK: -1 }, "topK"],
    [{ topK: 2.5 }, "topK"],
    [{ minP: 1 }, "minP"],
    [{ minP: -0.5 }, "minP"],
    [{ repetitionPenalty: 0 }, "repetitionPenalty"],
  ] as [SamplingOptions, string][])("%j throws naming %s", (options, name) => {
    expect(() => sampleNextToken(logits, options, fixed(0))).toThrow(InvalidArgumentError);
    expect(() => sampleNextToken(logits, options, fixed(0))).toThrow(new RegExp(`^${name} `));
  });

  it("accepts temperature 0 with greedy decoding (mamba_ssm never reads it there)", () => {
    expect(sampleNextToken(logits, { temperature: 0 }, fixed(0))).toBe(1);
    expect(sampleNextToken(logits, { doSample: true, temperature: 0 }, fixed(0))).toBe(1); // topK stays 1
  });

  it("throws when no token is left to draw", () => {
    const small = Float32Array.from([0.1, 0.2]); // every logit < min_p
    expect(() => sampleNextToken(small, { doSample: true, topK: 0, minP: 0.9 }, fixed(0))).toThrow(/minP/);
    expect(() => sampleNextToken(new Float32Array(0), {}, fixed(0))).toThrow(InvalidArgumentError);
  });
});
