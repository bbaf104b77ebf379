/**
 * The torchvision 0.14 PIL transforms Cobra composes (Resize, CenterCrop, Pad), restated on RgbImage.
 * Integer arithmetic follows the Python source, so sizes and offsets match for every input size.
 */
import { InvalidArgumentError } from "@cobra-ts/core";
import { assertRgbImage, createRgbImage, type RgbImage } from "../image.js";
import { resizeBicubicPil } from "./pil-resample.js";

export type Rgb = readonly [number, number, number];

/** Python 3's `round()` on a float: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision `Resize(size)` with an int: the short side becomes `size`, the long side
 * `int(size * long / short)` (truncated), computed in doubles exactly like Python.
 */
export function shortSideSize(width: number, height: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [size, newLong] : [newLong, size];
}

/** torchvision `Resize(size)` (int size: short side) on a PIL image with BICUBIC. */
export function resizeShortSide(image: RgbImage, size: number): RgbImage {
  assertSize(size);
  const [w, h] = shortSideSize(image.width, image.height, size);
  return resizeBicubicPil(image, w, h);
}

/**
 * Pads with a constant colour: PIL `ImageOps.expand`, which torchvision's `F.pad(img, (l, t, r, b), fill)`
 * calls for PIL images in "constant" mode.
 */
export function padConstant(
  image: RgbImage,
  left: number,
  top: number,
  right: number,
  bottom: number,
  fill: Rgb,
): RgbImage {
  assertRgbImage(image);
  for (const p of [left, top, right, bottom])
    if (!Number.isInteger(p) || p < 0)
      throw new InvalidArgumentError(`pad: padding must be non-negative integers, got ${p}`);
  const out = createRgbImage(image.width + left + right, image.height + top + bottom, fill);
  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    const src = image.data.subarray(y * rowBytes, (y + 1) * rowBytes);
    out.data.set(src, ((y + top) * out.width + left) * 3);
  }
  return out;
}

/** Copies the rectangle at (left, top) of size width x height (it must lie inside the image). */
export function crop(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const out = createRgbImage(width, height);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    const start = ((y + top) * image.width + left) * 3;
    out.data.set(image.data.subarray(start, start + rowBytes), y * rowBytes);
  }
  return out;
}

/**
 * torchvision 0.14 `CenterCrop(size)`: an image smaller than the crop is first zero-padded
 * ((crop - w) // 2 left/top, the rest right/bottom); offsets are `int(round((h - crop) / 2.0))`, with
 * Python's half-to-even round (a 385-wide image is cropped from x = 0, a 387-wide one from x = 2).
 */
export function centerCrop(image: RgbImage, size: number): RgbImage {
  assertRgbImage(image);
  assertSize(size);
  if (size > image.width || size > image.height) {
    const padW = Math.max(size - image.width, 0);
    const padH = Math.max(size - image.height, 0);
    const left = Math.floor(padW / 2);
    const top = Math.floor(padH / 2);
    image = padConstant(image, left, top, padW - left, padH - top, [0, 0, 0]);
    if (image.width === size && image.height === size) return image;
  }
  if (image.width === size && image.height === size) return { ...image, data: image.data.slice() };
  const top = roundHalfEven((image.height - size) / 2);
  const left = roundHalfEven((image.width - size) / 2);
  return crop(image, left, top, size, size);
}

/**
 * Cobra's `LetterboxPad`: symmetric border of int((max - w) / 2) left and right, int((max - h) / 2) top and
 * bottom. When max - w (or max - h) is odd the result is one pixel short of square, as in the reference.
 */
export function letterboxPad(image: RgbImage, fill: Rgb): RgbImage {
  assertRgbImage(image);
  const max = Math.max(image.width, image.height);
  const horizontal = Math.trunc((max - image.width) / 2);
  const vertical = Math.trunc((max - image.height) / 2);
  return padConstant(image, horizontal, vertical, horizontal, vertical, fill);
}

function assertSize(size: number): void {
  if (!Number.isInteger(size) || size < 1)
    throw new InvalidArgumentError(`size must be a positive integer, got ${size}`);
}
