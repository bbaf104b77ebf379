import { describe, expect, it } from "vitest";
import { fillTensor, tensorSeed } from "./random-tensor.js";

describe("fillTensor", () => {
  it("uniform values have the asked standard deviation and zero mean", () => {
    const data = fillTensor("w", { shape: [256, 256], init: { kind: "uniform", std: 0.05 } }, 1);
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    const std = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(std).toBeCloseTo(0.05, 3);
  });

  it("A_log is log(1..N) on every row, dt bias decodes to dt within its range", () => {
    expect([...fillTensor("a", { shape: [2, 3], init: { kind: "a-log" } }, 1)]).toEqual(
      [0, Math.log(2), Math.log(3), 0, Math.log(2), Math.log(3)].map(Math.fround),
    );
    const bias = fillTensor("b", { shape: [1000], init: { kind: "dt-bias", min: 1e-3, max: 1e-1 } }, 1);
    const dt = [...bias].map((b) => Math.log1p(Math.exp(b)));
    expect(Math.min(...dt)).toBeGreaterThanOrEqual(1e-3 * 0.999);
    expect(Math.max(...dt)).toBeLessThanOrEqual(1e-1 * 1.001);
  });

  it("is deterministic per name and seed, and differs across them", () => {
    const init = { kind: "uniform", std: 1 } as const;
    const a = fillTensor("x", { shape: [64], init }, 3);
    expect(fillTensor("x", { shape: [64], init }, 3)).toEqual(a);
    expect(fillTensor("y", { shape: [64], init }, 3)).not.toEqual(a);
    expect(tensorSeed("x", 3)).not.toBe(tensorSeed("x", 4));
  });
});
