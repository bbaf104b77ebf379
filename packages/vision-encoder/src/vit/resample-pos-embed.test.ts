import { SafetensorsFile } from "@cobra-ts/core/node";
import { describe, expect, it } from "vitest";
import { fixturePath, imageSize, manifest } from "../../test/fixtures.js";
import { antialiasBicubicWeights, resampleAbsPosEmbed, resampleGrid } from "./resample-pos-embed.js";
import { maxAbsDiff } from "./test-helpers.js";

/** PIL/ATen anti-aliased bicubic written the textbook way in float64: an independent check of the weights. */
function referenceWeights(inSize: number, outSize: number): number[][] {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const cubic = (x: number) => {
    const t = Math.abs(x);
    if (t < 1) return 1.5 * t ** 3 - 2.5 * t ** 2 + 1;
    if (t < 2) return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2;
    return 0;
  };
  return Array.from({ length: outSize }, (_, i) => {
    const center = (i + 0.5) * scale;
    const w = Array.from({ length: inSize }, (_, j) => cubic((j + 0.5 - center) / stretch));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / total);
  });
}

function denseWeights(inSize: number, outSize: number): number[][] {
  const { start, weights } = antialiasBicubicWeights(inSize, outSize);
  return Array.from({ length: outSize }, (_, i) => {
    const row = new Array<number>(inSize).fill(0);
    weights[i].forEach((w, j) => {
      row[start[i] + j] = w;
    });
    return row;
  });
}

describe("resampleAbsPosEmbed (timm resample_abs_pos_embed, torch bicubic antialias)", () => {
  it("matches dino/pos_embed_resampled (native grid -> the encoder's grid) from the fixture", async () => {
    const d = manifest().dims.dino;
    const weights = await SafetensorsFile.open(fixturePath("release/dino/model.safetensors"));
    const expected = await SafetensorsFile.open(fixturePath("expected/tensors.safetensors"));
    try {
      const raw = await weights.read("pos_embed");
      // timm: num_prefix_tokens = 0 when no_embed_class (pos_embed covers the patches only).
      const prefix = d.no_embed_class ? 0 : (d.num_prefix_tokens ?? 1);
      const nativeGrid = d.native_grid ?? Math.floor((d.native_img_size ?? 0) / d.patch_size);
      expect(raw.shape).toEqual([1, prefix + nativeGrid * nativeGrid, d.embed_dim]);
      const resampled = await expected.read("dino/pos_embed_resampled");
      const grid = Math.floor(imageSize() / d.patch_size);
      expect(resampled.shape).toEqual([1, prefix + grid * grid, d.embed_dim]);
      const got = resampleAbsPosEmbed(raw.data as Float32Array, d.embed_dim, prefix, grid);
      const diff = maxAbsDiff(got, resampled.data as Float32Array);
      console.log(`pos_embed ${nativeGrid}->${grid} max abs diff ${diff.toExponential(3)}`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      await weights.close();
      await expected.close();
    }
  });

  it("uses the a=-0.5 cubic widened by the scale factor, renormalized at the borders (down and up)", () => {
    for (const [inSize, outSize] of [
      [37, 27],
      [27, 37],
      [5, 2],
      [4, 9],
    ]) {
      const got = denseWeights(inSize, outSize);
      const want = referenceWeights(inSize, outSize);
      for (let i = 0; i < outSize; i++) expect(maxAbsDiff(got[i], want[i])).toBeLessThan(5e-6);
    }
  });

  it("is a no-op when the grid already matches", () => {
    const data = Float32Array.from({ length: 9 * 4 }, (_, i) => Math.sin(i));
    expect(resampleAbsPosEmbed(data, 4, 0, 3)).toBe(data);
    expect(resampleGrid(data, [3, 3], [3, 3], 4)).toEqual(data);
  });

  it("keeps prefix rows and preserves constants when upsampling", () => {
    const dim = 2;
    const data = new Float32Array((1 + 4) * dim).fill(0.25);
    data[0] = 7;
    data[1] = -7;
    const out = resampleAbsPosEmbed(data, dim, 1, 5);
    expect(out.length).toBe((1 + 25) * dim);
    expect([out[0], out[1]]).toEqual([7, -7]);
    for (let i = dim; i < out.length; i++) expect(out[i]).toBeCloseTo(0.25, 6);
  });

  it("refuses a table that is not a square grid", () => {
    expect(() => resampleAbsPosEmbed(new Float32Array(5 * 2), 2, 0, 3)).toThrow(/not a square grid/);
  });
});
