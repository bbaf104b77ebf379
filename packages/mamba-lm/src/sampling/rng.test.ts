import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { createRng, Xoshiro128StarStar } from "./rng.js";

describe("Xoshiro128StarStar", () => {
  it("produces the reference xoshiro128** outputs (values from an independent Python implementation)", () => {
    const rng = new Xoshiro128StarStar(42);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([
      2837322924, 2689157697, 135565847, 3108665369,
    ]);
    const big = new Xoshiro128StarStar(2 ** 40 + 5); // the high seed bits matter
    expect([big.nextUint32(), big.nextUint32()]).toEqual([3616982058, 3009542268]);
    expect(new Xoshiro128StarStar(42).nextFloat()).toBe(0.6606157245197767);
  });

  it("is reproducible per seed and stays in [0, 1)", () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const xs = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(Array.from({ length: 1000 }, () => b.nextFloat())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c.nextFloat())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it("draws a random seed when none is given, and rejects bad seeds", () => {
    expect(createRng().nextFloat()).not.toBe(createRng().nextFloat());
    expect(() => createRng(1.5)).toThrow(InvalidArgumentError);
  });
});
