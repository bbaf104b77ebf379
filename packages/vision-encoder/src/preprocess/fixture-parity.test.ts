import { describe, expect, it } from "vitest";
import {
  ENCODERS,
  expectedPixels,
  expectedShape,
  fixtureImage,
  fixtureImages,
  haveFixtures,
  imagePath,
  imageSize,
  pixelImages,
  pixelKeys,
  resizeStrategy,
} from "../../test/fixtures.js";
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

const SAME = { count: 0, max: 0, histogram: {} };
/** The strategy the set's Cobra config declares; the oracle made its pixels with it. */
const STRATEGY = haveFixtures ? resizeStrategy() : "resize-naive";
/** Images the set stores pixels/<image>/{dino,siglip} for (cobra-tiny: some; the other sets: all). */
const IMAGES = pixelImages();

describe.skipIf(!haveFixtures)(`pixels vs the oracle (Pillow 9.4 + torchvision 0.14, ${STRATEGY})`, () => {
  it("pixels/<image>/<encoder> are uint8 [1, 3, size, size], of listed images, for both encoders", () => {
    const size = imageSize();
    const listed = new Set(fixtureImages().map((i) => i.name));
    expect(IMAGES.length, "the set stores pixels for at least one image").toBeGreaterThan(0);
    for (const key of pixelKeys()) {
      const [, image, encoder] = key.split("/");
      expect(listed.has(image), `${key}: image listed in manifest.json`).toBe(true);
      expect(ENCODERS as readonly string[], key).toContain(encoder);
      expect(expectedShape(key), key).toEqual([1, 3, size, size]);
    }
    expect(pixelKeys().length).toBe(IMAGES.length * ENCODERS.length);
  });

  for (const name of IMAGES) {
    for (const encoder of ENCODERS) {
      it(`${name} ${encoder}: identical uint8 pixels`, async () => {
        const size = imageSize();
        const image = await decodeImageFile(imagePath(name));
        const out = preprocess(image, { strategy: STRATEGY, encoder, size });
        expect(out.pixels.shape).toEqual([1, 3, size, size]);
        const figures = compare(out.pixels.data, await expectedPixels(name, encoder));
        if (figures.count) console.log(`${fixtureImage(name).file} ${encoder}`, figures);
        expect(figures).toEqual(SAME);
      });
    }

    // JPEGs: sharp's decoder vs libjpeg-turbo 2.1.5 (the figures are logged; any difference fails).
    it(`${name}: preprocessDinoSiglip gives the same pixels for both encoders`, async () => {
      const image = await decodeImageFile(imagePath(name));
      const { dino, siglip } = preprocessDinoSiglip(image, { strategy: STRATEGY, size: imageSize() });
      const d = compare(dino.pixels.data, await expectedPixels(name, "dino"));
      const s = compare(siglip.pixels.data, await expectedPixels(name, "siglip"));
      console.log(`${fixtureImage(name).file} dino`, d, "siglip", s);
      expect(d).toEqual(SAME);
      expect(s).toEqual(SAME);
    });
  }
});
