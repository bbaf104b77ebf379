import { describe, expect, it } from "vitest";
import type { RgbImage } from "../image.js";
import { bicubicCoefficients, resizeBicubicPil } from "./pil-resample.js";

/** A width x 1 image whose three channels are the given values, the same per pixel. */
const row = (values: number[]): RgbImage => ({
  width: values.length,
  height: 1,
  data: Uint8Array.from(values.flatMap((v) => [v, v, v])),
});
const red = (image: RgbImage) => Array.from(image.data.filter((_, i) => i % 3 === 0));

describe("Pillow 9.4 bicubic resample, worked out by hand", () => {
  it("4x1 -> 2x1 (downscale by 2: kernel stretched to support 4)", () => {
    // Output 0: centre 1.0, taps at inputs 0..3, kernel argument (x + 0.5 - 1) / 2 = -0.25, 0.25, 0.75, 1.25
    //   bicubic(a = -0.5): 0.8671875, 0.8671875, 0.2265625, -0.0703125 (exact), sum 1.890625
    //   normalised: 0.458677685950..., 0.458677685950..., 0.119834710743..., -0.037190082644...
    //   fixed point, x 2^22 rounded half away from zero: 1923834, 1923834, 502623, -155987
    // Output 1 is the mirror image.
    const c = bicubicCoefficients(4, 2);
    expect(c.ksize).toBe(9);
    expect(Array.from(c.first)).toEqual([0, 0]);
    expect(Array.from(c.count)).toEqual([4, 4]);
    expect(Array.from(c.weights.subarray(0, 4))).toEqual([1923834, 1923834, 502623, -155987]);
    expect(Array.from(c.weights.subarray(9, 13))).toEqual([-155987, 502623, 1923834, 1923834]);

    const out = resizeBicubicPil(row([10, 200, 30, 250]), 2, 1);
    const half = 1 << 21;
    expect(red(out)).toEqual([
      (half + 10 * 1923834 + 200 * 1923834 + 30 * 502623 + 250 * -155987) >> 22, // 382184232 >> 22 = 91
      (half + 10 * -155987 + 200 * 502623 + 30 * 1923834 + 250 * 1923834) >> 22, // 639735402 >> 22 = 152
    ]);
    expect(red(out)).toEqual([91, 152]);
  });

  it("2x1 -> 4x1 (upscale: support 2, overshoot clipped to 0..255)", () => {
    // Output 0: centre 0.25, taps at inputs 0, 1, kernel argument x + 0.5 - centre = 0.25, 1.25
    //   -> 0.8671875, -0.0703125; normalised 1.0882352941..., -0.0882352941... -> 4564390, -370086.
    // Output 1: centre 0.75: arguments -0.25, 0.75 -> 0.8671875, 0.2265625 -> 0.79285714..., 0.20714285...
    //   -> 3325484, 868820. Outputs 2 and 3 mirror 1 and 0.
    const c = bicubicCoefficients(2, 4);
    expect(c.ksize).toBe(5);
    expect(Array.from(c.weights)).toEqual([
      4564390, -370086, 0, 0, 0, 3325484, 868820, 0, 0, 0, 868820, 3325484, 0, 0, 0, -370086, 4564390, 0, 0,
      0,
    ]);
    // Input [0, 255]: sums 2^21 + 255 * w1: -92274778 (>> 22 = -23 -> 0), 223646252 (53), 850095572 (202),
    // 1166016602 (278 -> 255).
    expect(red(resizeBicubicPil(row([0, 255]), 4, 1))).toEqual([0, 53, 202, 255]);
  });

  it("two passes, horizontal first, each rounded to uint8", () => {
    const w = 7;
    const h = 5;
    const image: RgbImage = {
      width: w,
      height: h,
      data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 97 + (i >> 3) * 31) & 255),
    };
    const direct = resizeBicubicPil(image, 3, 2);
    const composed = resizeBicubicPil(resizeBicubicPil(image, 3, h), 3, 2);
    expect(direct).toEqual(composed);
  });

  it("same size returns an equal copy; one changed dimension runs one pass", () => {
    const image = row([1, 2, 3, 4, 5]);
    const same = resizeBicubicPil(image, 5, 1);
    expect(same).toEqual(image);
    expect(same.data).not.toBe(image.data);
    // Only the vertical pass: every column of a 1-wide image is resampled independently.
    const column: RgbImage = {
      width: 1,
      height: 4,
      data: Uint8Array.from([10, 10, 10, 200, 200, 200, 30, 30, 30, 250, 250, 250]),
    };
    expect(red(resizeBicubicPil(column, 1, 2))).toEqual([91, 152]);
  });

  it("1x1 upscales to a flat image", () => {
    const out = resizeBicubicPil({ width: 1, height: 1, data: Uint8Array.from([9, 99, 199]) }, 5, 3);
    expect(out.width * out.height).toBe(15);
    for (let i = 0; i < 15; i++)
      expect(Array.from(out.data.subarray(i * 3, i * 3 + 3))).toEqual([9, 99, 199]);
  });

  it("rejects bad sizes", () => {
    expect(() => resizeBicubicPil(row([1]), 0, 1)).toThrow(/positive integers/);
    expect(() => resizeBicubicPil(row([1]), 1.5, 1)).toThrow(/positive integers/);
    expect(() => resizeBicubicPil({ width: 2, height: 1, data: new Uint8Array(3) }, 1, 1)).toThrow(/needs 6/);
  });
});
