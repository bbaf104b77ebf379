/**
 * torchvision `ToTensor` + `Normalize` in float32, step for step: x = f32(u8) / 255, then (x - mean) / std with
 * mean and std as float32 tensors. Each step is rounded to float32 (Math.fround); a single +, -, * or / done in
 * double and rounded once to float32 equals the float32 operation, so the result matches torch bit for bit.
 */
import { InvalidArgumentError } from "@cobra-ts/core";
import { assertRgbImage, type RgbImage } from "../image.js";

export type Triple = readonly [number, number, number];

/** The image as uint8 planes [3, height, width] (what Cobra's fixtures store as `pixels/*`). */
export function toChwU8(image: RgbImage): Uint8Array {
  assertRgbImage(image);
  const plane = image.width * image.height;
  const out = new Uint8Array(plane * 3);
  const src = image.data;
  for (let i = 0; i < plane; i++) {
    out[i] = src[i * 3];
    out[plane + i] = src[i * 3 + 1];
    out[2 * plane + i] = src[i * 3 + 2];
  }
  return out;
}

/** `Normalize(mean, std)(ToTensor()(image))` as float32 planes [3, height, width]. */
export function toNormalizedChw(image: RgbImage, mean: Triple, std: Triple): Float32Array {
  assertRgbImage(image);
  for (const s of std)
    if (!(Number.isFinite(s) && s !== 0))
      throw new InvalidArgumentError(`normalize: std must be finite and non-zero, got ${std.join(", ")}`);
  const plane = image.width * image.height;
  const out = new Float32Array(plane * 3);
  const src = image.data;
  for (let c = 0; c < 3; c++) {
    // One lookup table per channel: only 256 distinct inputs.
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    for (let i = 0; i < plane; i++) out[c * plane + i] = table[src[i * 3 + c]];
  }
  return out;
}
