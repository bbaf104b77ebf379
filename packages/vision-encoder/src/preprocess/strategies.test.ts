import { describe, expect, it } from "vitest";
import type { RgbImage } from "../image.js";
import { ENCODER_NORMALIZATION } from "./encoders.js";
import { centerCrop, crop, letterboxPad, roundHalfEven, shortSideSize } from "./geometry.js";
import { resizeBicubicPil } from "./pil-resample.js";
import { type PreprocessedImage, preprocess, preprocessDinoSiglip, resizeForEncoder } from "./strategies.js";

/** A deterministic, busy test image. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    data.set([(x * 13 + y * 7) & 255, (x * y) & 255, (255 - x * 3) & 255], i * 3);
  }
  return { width, height, data };
}

/** Byte equality of two images (vitest's deep equality is slow on 442k-element arrays). */
function sameImage(a: RgbImage, b: RgbImage): boolean {
  return a.width === b.width && a.height === b.height && Buffer.compare(a.data, b.data) === 0;
}

function samePreprocessed(a: PreprocessedImage, b: PreprocessedImage): boolean {
  const bytes = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return (
    a.encoder === b.encoder &&
    Buffer.compare(a.pixels.data, b.pixels.data) === 0 &&
    Buffer.compare(bytes(a.normalized.data), bytes(b.normalized.data)) === 0
  );
}

/** uint8 CHW row `y` of channel `c`. */
const planeRow = (chw: Uint8Array, size: number, c: number, y: number) =>
  chw.subarray((c * size + y) * size, (c * size + y + 1) * size);

describe("torchvision/Cobra geometry", () => {
  it("Python's round() for crop offsets: halves to even", () => {
    expect([0.5, 1.5, 2.5, 105.5, 3].map(roundHalfEven)).toEqual([0, 2, 2, 106, 3]);
  });

  it("Resize(int) keeps the short side and truncates the long one", () => {
    expect(shortSideSize(203, 131, 384)).toEqual([595, 384]); // int(384 * 203 / 131) = int(595.05)
    expect(shortSideSize(131, 203, 384)).toEqual([384, 595]);
    expect(shortSideSize(203, 202, 384)).toEqual([385, 384]);
    expect(shortSideSize(1, 1, 384)).toEqual([384, 384]);
  });

  it("letterbox pads symmetrically with int((max - side) / 2), one short of square when the gap is odd", () => {
    const fill = ENCODER_NORMALIZATION.dino.letterboxFill;
    expect(fill).toEqual([123, 116, 103]);
    expect(ENCODER_NORMALIZATION.siglip.letterboxFill).toEqual([127, 127, 127]);
    const even = letterboxPad(pattern(203, 131), fill);
    expect([even.width, even.height]).toEqual([203, 203]);
    const odd = letterboxPad(pattern(203, 130), fill);
    expect([odd.width, odd.height]).toEqual([203, 202]);
    expect(Array.from(odd.data.subarray(0, 3))).toEqual([123, 116, 103]);
    expect(Array.from(odd.data.subarray(36 * 203 * 3, 36 * 203 * 3 + 3))).toEqual(
      Array.from(pattern(203, 130).data.subarray(0, 3)),
    );
    const tall = letterboxPad(pattern(5, 8), fill);
    expect([tall.width, tall.height]).toEqual([7, 8]); // 1 column each side
  });

  it("CenterCrop pads a too-small image with zeros ((crop - w) // 2 before, the rest after)", () => {
    const out = centerCrop({ width: 1, height: 1, data: Uint8Array.from([9, 9, 9]) }, 4);
    const at = (x: number, y: number) => out.data[(y * 4 + x) * 3];
    expect([at(1, 1), at(0, 0), at(2, 2), at(3, 3)]).toEqual([9, 0, 0, 0]);
  });
});

describe("Cobra resize strategies at 384", () => {
  it("every strategy gives [1, 3, 384, 384] for odd sizes (203x131, 1x1, 385x384, 131x203)", () => {
    for (const [w, h] of [
      [203, 131],
      [1, 1],
      [385, 384],
      [131, 203],
    ])
      for (const strategy of ["resize-naive", "resize-crop", "letterbox"] as const)
        for (const encoder of ["dino", "siglip"] as const) {
          const out = preprocess(pattern(w, h), { strategy, encoder });
          expect(out.pixels.shape, `${strategy} ${w}x${h}`).toEqual([1, 3, 384, 384]);
          expect(out.normalized.shape).toEqual([1, 3, 384, 384]);
          expect(out.pixels.data.length).toBe(3 * 384 * 384);
          expect(out.normalized.data.length).toBe(3 * 384 * 384);
        }
  });

  it("resize-naive ignores the aspect ratio", () => {
    const image = pattern(203, 131);
    expect(
      sameImage(resizeForEncoder(image, "resize-naive", "dino"), resizeBicubicPil(image, 384, 384)),
    ).toBe(true);
  });

  it("resize-crop on 203x131: 595x384, cropped at x = round(105.5) = 106", () => {
    const image = pattern(203, 131);
    const resized = resizeBicubicPil(image, 595, 384);
    const out = resizeForEncoder(image, "resize-crop", "siglip");
    expect(sameImage(out, crop(resized, 106, 0, 384, 384))).toBe(true);
    expect(sameImage(out, crop(resized, 105, 0, 384, 384))).toBe(false);
  });

  it("resize-crop on 385x384: no resize, cropped at x = round(0.5) = 0; 387x384 at x = 2", () => {
    const a = pattern(385, 384);
    expect(sameImage(resizeForEncoder(a, "resize-crop", "dino"), crop(a, 0, 0, 384, 384))).toBe(true);
    const b = pattern(387, 384);
    expect(sameImage(resizeForEncoder(b, "resize-crop", "dino"), crop(b, 2, 0, 384, 384))).toBe(true);
  });

  it("letterbox on 203x131: fill colour in the padded bands, per encoder", () => {
    // 203x131 -> 203x203 (fill in rows 0..35 and 167..202) -> 384x384. Output row y has centre c = (y + 0.5) *
    // 203 / 384 and reads input rows trunc(c - 1.5) .. trunc(c + 2.5) - 1: rows 0..64 read only rows < 36,
    // rows 319..383 only rows >= 167, so they are pure fill.
    const { dino, siglip } = preprocessDinoSiglip(pattern(203, 131), { strategy: "letterbox" });
    for (const [result, fill] of [
      [dino, [123, 116, 103]],
      [siglip, [127, 127, 127]],
    ] as const) {
      for (let c = 0; c < 3; c++) {
        for (const y of [...Array(65).keys(), ...Array.from({ length: 65 }, (_, i) => 319 + i)])
          expect(planeRow(result.pixels.data, 384, c, y).every((v) => v === fill[c])).toBe(true);
        expect(planeRow(result.pixels.data, 384, c, 192).every((v) => v === fill[c])).toBe(false);
      }
    }
  });

  it("letterbox on 203x130: 203x202 padded -> 385x384 -> cropped at x = 0", () => {
    const image = pattern(203, 130);
    const padded = letterboxPad(image, ENCODER_NORMALIZATION.siglip.letterboxFill);
    const resized = resizeBicubicPil(padded, 385, 384);
    expect(sameImage(resizeForEncoder(image, "letterbox", "siglip"), crop(resized, 0, 0, 384, 384))).toBe(
      true,
    );
    expect(sameImage(resizeForEncoder(image, "letterbox", "siglip"), crop(resized, 1, 0, 384, 384))).toBe(
      false,
    );
  });

  it("preprocessDinoSiglip equals two preprocess calls", () => {
    const image = pattern(50, 31);
    for (const strategy of ["resize-naive", "resize-crop", "letterbox"] as const) {
      const both = preprocessDinoSiglip(image, { strategy });
      expect(samePreprocessed(both.dino, preprocess(image, { strategy, encoder: "dino" }))).toBe(true);
      expect(samePreprocessed(both.siglip, preprocess(image, { strategy, encoder: "siglip" }))).toBe(true);
    }
  });

  it("rejects unknown strategies and encoders", () => {
    const image = pattern(2, 2);
    // @ts-expect-error testing a bad value from untyped callers
    expect(() => preprocess(image, { strategy: "squash", encoder: "dino" })).toThrow(
      /unknown image resize strategy "squash"/,
    );
    // @ts-expect-error testing a bad value from untyped callers
    expect(() => preprocess(image, { strategy: "letterbox", encoder: "clip" })).toThrow(
      /unknown encoder "clip"/,
    );
  });
});
