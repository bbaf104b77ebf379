import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectedPixels, haveFixtures, IMAGES, pixelKeys } from "../../test/fixtures.js";
import { decodeImageFile } from "../decode-node.js";
import { preprocess, preprocessDinoSiglip } from "./strategies.js";

/** Count and largest size of differences between two byte arrays, and the histogram of |diff|. */
function compare(actual: Uint8Array, expected: Uint8Array) {
  let count = 0;
  let max = 0;
  const histogram: Record<number, number> = {};
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d) {
      count++;
      max = Math.max(max, d);
      histogram[d] = (histogram[d] ?? 0) + 1;
    }
  }
  return { count, max, histogram };
}

describe.skipIf(!haveFixtures)("pixels vs the oracle (Pillow 9.4 + torchvision 0.14, resize-naive)", () => {
  it("the fixtures hold pixels for rocket, synthetic_rgba and gray", async () => {
    expect((await pixelKeys()).sort()).toEqual([
      "pixels/gray/dino",
      "pixels/gray/siglip",
      "pixels/rocket/dino",
      "pixels/rocket/siglip",
      "pixels/synthetic_rgba/dino",
      "pixels/synthetic_rgba/siglip",
    ]);
  });

  for (const name of ["synthetic_rgba", "gray"]) {
    for (const encoder of ["dino", "siglip"] as const) {
      it(`${name}.png ${encoder}: identical uint8 pixels`, async () => {
        const image = await decodeImageFile(join(IMAGES, `${name}.png`));
        const out = preprocess(image, { strategy: "resize-naive", encoder });
        expect(out.pixels.shape).toEqual([1, 3, 384, 384]);
        expect(compare(out.pixels.data, await expectedPixels(name, encoder))).toEqual({
          count: 0,
          max: 0,
          histogram: {},
        });
      });
    }
  }

  it("rocket.jpg: sharp's JPEG decoder vs libjpeg-turbo 2.1.5 (measured difference, kept as a regression figure)", async () => {
    const image = await decodeImageFile(join(IMAGES, "rocket.jpg"));
    const { dino, siglip } = preprocessDinoSiglip(image, { strategy: "resize-naive" });
    const d = compare(dino.pixels.data, await expectedPixels("rocket", "dino"));
    const s = compare(siglip.pixels.data, await expectedPixels("rocket", "siglip"));
    console.log("rocket.jpg dino", d, "siglip", s);
    expect(d).toEqual({ count: 0, max: 0, histogram: {} });
    expect(s).toEqual({ count: 0, max: 0, histogram: {} });
  });
});
