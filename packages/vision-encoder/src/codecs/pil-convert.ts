/**
 * Pillow 9.4's `Image.open(f).convert("RGB")` rules, applied to decoded samples:
 * - alpha is dropped, never composited (RGBA -> RGB and LA -> L just ignore the alpha channel);
 * - grey is replicated to R, G and B;
 * - a 16-bit grey image WITHOUT alpha opens as mode "I" and each value is clipped to 0..255 (not scaled);
 * - every other 16-bit sample (RGB, RGBA, grey+alpha, which PIL opens as 8-bit RGB/RGBA) keeps its high byte;
 * - CMYK (ink densities, Adobe inversion already undone) -> R = (255 - K) - MULDIV255(C, 255 - K), same for M, Y.
 */
import { ImageDecodeError } from "@cobra-ts/core";
import type { RgbImage } from "../image.js";

export type ColourModel = "gray" | "rgb" | "cmyk";

const MODEL_CHANNELS: Record<ColourModel, number> = { gray: 1, rgb: 3, cmyk: 4 };

/** Decoded samples in their own colour model, interleaved, optionally with one trailing alpha channel. */
export interface DecodedSamples {
  width: number;
  height: number;
  model: ColourModel;
  /** Colour channels plus 1 when there is an alpha channel. */
  channels: number;
  /** 8-bit or 16-bit samples (the array type says which). */
  samples: Uint8Array | Uint16Array;
}

/** Pillow's MULDIV255: a * b / 255 rounded, without a division. */
export function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** Pillow's `cmyk2rgb` for one channel: ink `c` under black `k`. */
export function inkToRgb(c: number, k: number): number {
  const nk = 255 - k;
  const v = nk - mulDiv255(c, nk);
  return Math.max(v, 0);
}

/** Converts decoded samples to RGB the way `convert("RGB")` does after Pillow opened the file. */
export function pilRgbFromSamples(decoded: DecodedSamples, source: string): RgbImage {
  const { width, height, model, channels, samples } = decoded;
  const colour = MODEL_CHANNELS[model];
  if (channels !== colour && channels !== colour + 1)
    throw new ImageDecodeError(`${source}: ${channels} channels do not fit colour model ${model}`);
  const n = width * height;
  if (samples.length !== n * channels)
    throw new ImageDecodeError(
      `${source}: decoder returned ${samples.length} samples, expected ${n * channels}`,
    );
  const hasAlpha = channels === colour + 1;
  const to8 = eightBit(samples, model === "gray" && !hasAlpha);
  const out = new Uint8Array(n * 3);
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    const o = i * 3;
    if (model === "gray") {
      out[o] = out[o + 1] = out[o + 2] = to8(samples[p]);
    } else if (model === "rgb") {
      out[o] = to8(samples[p]);
      out[o + 1] = to8(samples[p + 1]);
      out[o + 2] = to8(samples[p + 2]);
    } else {
      const k = to8(samples[p + 3]);
      out[o] = inkToRgb(to8(samples[p]), k);
      out[o + 1] = inkToRgb(to8(samples[p + 1]), k);
      out[o + 2] = inkToRgb(to8(samples[p + 2]), k);
    }
  }
  return { width, height, data: out };
}

function eightBit(samples: Uint8Array | Uint16Array, clipSixteen: boolean): (v: number) => number {
  if (samples instanceof Uint8Array) return (v) => v;
  return clipSixteen ? (v) => Math.min(v, 255) : (v) => v >> 8;
}
