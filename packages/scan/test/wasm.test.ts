import { describe, expect, it } from "vitest";
import { silu, softplus } from "../src/reference.js";
import { createWasmKernel } from "../src/wasm/wasm-kernel.js";
import { segments, splitWork } from "../src/wasm/work-split.js";
import { scanInputs } from "./random.js";
import { kernelSuite } from "./suite.js";

kernelSuite("wasm-simd (1 thread)", () => createWasmKernel({ threads: 1 }));
// minParallelWork 0: even the small fixture cases are split across threads.
kernelSuite("wasm-simd (3 threads)", () => createWasmKernel({ threads: 3, minParallelWork: 0 }));
// A tiny chunk: the scan walks the sequence in many chunks.
kernelSuite("wasm-simd (chunk 5)", () => createWasmKernel({ threads: 1, chunk: 5 }));

describe("wasm-simd kernel internals", () => {
  it("has a fast exp, softplus and silu within their stated error", async () => {
    const k = await createWasmKernel({ threads: 1 });
    try {
      const worst = (fn: 0 | 1 | 2, lo: number, hi: number, ref: (x: number) => number, rel: boolean) => {
        const xs = new Float32Array(100_000).map((_, i) => lo + ((hi - lo) * i) / 99_999);
        const ys = k.mapApprox(xs, fn);
        let w = 0;
        xs.forEach((x, i) => {
          const r = ref(x);
          w = Math.max(w, Math.abs(ys[i] - r) / (rel ? Math.abs(r) : 1));
        });
        return w;
      };
      // exp: 1.9e-7 from the polynomial plus |x| * 6e-8 from rounding x log2(e) to float32.
      expect(worst(0, -10, 10, Math.exp, true)).toBeLessThan(7e-7);
      expect(worst(0, -1, 1, Math.exp, true)).toBeLessThan(3e-7);
      // exp(0) = 1 exactly (a state with dt = 0 must not grow); clamped, finite ends; NaN propagates.
      const [e0, eLow, eHigh, eNaN] = k.mapApprox(new Float32Array([0, -200, 200, Number.NaN]), 0);
      expect([e0, eLow]).toEqual([1, 2 ** -125]);
      expect(eHigh).toBeGreaterThan(1e38);
      expect(eHigh).toBeLessThan(Number.POSITIVE_INFINITY);
      expect(eNaN).toBeNaN();
      expect(worst(1, -30, 30, softplus, true)).toBeLessThan(2e-6);
      expect(worst(1, -5, 30, softplus, true)).toBeLessThan(5e-7);
      expect(worst(2, -30, 30, silu, false)).toBeLessThan(2e-6);
    } finally {
      k.dispose();
    }
  });

  it("gives bit-identical results single- and multi-threaded (the split is by channel)", async () => {
    const one = await createWasmKernel({ threads: 1 });
    const many = await createWasmKernel({ threads: 3, minParallelWork: 0 });
    try {
      const s = scanInputs(2, 203, 77, 16, 9, 7);
      const o = { D: s.D, z: s.z, deltaBias: s.deltaBias, deltaSoftplus: true, initialState: s.initialState };
      const a = one.selectiveScanSync(s.u, s.delta, s.A, s.B, s.C, o);
      const b = many.selectiveScanSync(s.u, s.delta, s.A, s.B, s.C, o);
      expect(b.out.data).toEqual(a.out.data);
      expect(b.lastState.data).toEqual(a.lastState.data);
    } finally {
      one.dispose();
      many.dispose();
    }
  });

  it("splits channels into contiguous shares of whole 4-channel blocks", () => {
    const shares = splitWork(segments(2, 10, 2), 3);
    // 2 batches x 2 groups of 5 channels = 4 segments of 2 blocks each = 8 blocks over 3 threads.
    expect(shares).toEqual([
      [{ b: 0, g: 0, c0: 0, c1: 5 }],
      [
        { b: 0, g: 1, c0: 5, c1: 10 },
        { b: 1, g: 0, c0: 0, c1: 4 },
      ],
      [
        { b: 1, g: 0, c0: 4, c1: 5 },
        { b: 1, g: 1, c0: 5, c1: 10 },
      ],
    ]);
  });

  it("rejects bad shapes with InvalidArgumentError naming the argument", async () => {
    const k = await createWasmKernel({ threads: 1 });
    try {
      const s = scanInputs(1, 8, 4, 16, 1);
      expect(() =>
        k.selectiveScanSync(s.u, s.delta, s.A, s.B, s.C, { D: { shape: [7], data: new Float32Array(7) } }),
      ).toThrow(/selectiveScan: D has shape \[7\], expected \[8\]/);
      expect(() =>
        k.selectiveScanSync(s.u, s.delta, s.A, { shape: [16, 4], data: new Float32Array(64) }, s.C),
      ).toThrow(/time-invariant B/);
    } finally {
      k.dispose();
    }
  });
});
