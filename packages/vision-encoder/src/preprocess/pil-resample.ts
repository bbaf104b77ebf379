/**
 * Pillow 9.4's `Image.resize(size, Image.BICUBIC)` for 8-bit RGB, bit for bit (libImaging/Resample.c).
 *
 * Why every detail matters: the reference rounds to uint8 after EACH pass, so a float resampler or a different
 * rounding of the fixed-point weights drifts by a grey level here and there, and the ViT features follow.
 * Pillow's algorithm, restated:
 * - separable convolution, horizontal pass first (into a uint8 image), then vertical; a pass whose size does
 *   not change is skipped (with the whole-image box `(0, 0, w, h)` that `resize` uses);
 * - the bicubic kernel (a = -0.5, support 2) is stretched by the scale factor when downscaling (antialiasing);
 * - per output pixel the weights are computed in double precision, normalised to sum 1, then turned into
 *   fixed point with 22 fractional bits, rounding half away from zero;
 * - the sum of `u8 * weight` starts at one half (1 << 21) and is shifted right by 22, then clipped to 0..255.
 */
import { InvalidArgumentError } from "@cobra-ts/core";
import { assertRgbImage, type RgbImage } from "../image.js";

/** 32 bits minus 8 for the value minus 2 so that kernels with negative lobes cannot overflow an int32. */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const BICUBIC_SUPPORT = 2;

/** Keys' cubic convolution kernel with a = -0.5, written in Pillow's evaluation order so doubles match. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** The fixed-point weights of one resampling pass along one axis. */
export interface ResampleCoefficients {
  /** Maximum taps per output sample; `weights` holds `ksize` slots per output sample. */
  ksize: number;
  /** Per output sample: first input index used. */
  first: Int32Array;
  /** Per output sample: number of input samples used (<= ksize). */
  count: Int32Array;
  /** outSize * ksize weights in units of 2^-22. */
  weights: Int32Array;
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the box [0, inSize) mapped onto outSize samples.
 * C casts `(int)x` truncate toward zero, hence Math.trunc (not floor) everywhere below.
 */
export function bicubicCoefficients(inSize: number, outSize: number): ResampleCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  const invFilterScale = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      const w = bicubic((x + xmin - center + 0.5) * invFilterScale);
      taps[x] = w;
      sum += w;
    }
    for (let x = 0; x < n; x++) {
      const k = sum !== 0 ? taps[x] / sum : taps[x];
      // (int)(k * ONE -/+ 0.5): round half away from zero, then truncate.
      weights[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, first, count, weights };
}

/** `clip8(ss)`: Pillow looks `ss >> 22` up in a table that saturates at 0 and 255. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return Math.max(0, Math.min(v, 255));
}

/** Horizontal pass over input rows [rowStart, rowStart + rows). Sums stay below 2^31, as in Pillow's int32. */
function resampleRows(
  src: RgbImage,
  rowStart: number,
  rows: number,
  outWidth: number,
  c: ResampleCoefficients,
): RgbImage {
  const out = new Uint8Array(outWidth * rows * 3);
  const { ksize, first, count, weights } = c;
  const s = src.data;
  for (let yy = 0; yy < rows; yy++) {
    const rowOffset = (yy + rowStart) * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      const kBase = xx * ksize;
      let p = rowOffset + first[xx] * 3;
      for (let x = 0; x < count[xx]; x++, p += 3) {
        const k = weights[kBase + x];
        r += s[p] * k;
        g += s[p + 1] * k;
        b += s[p + 2] * k;
      }
      const o = (yy * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height: rows, data: out };
}

/** Vertical pass; `rowShift` is subtracted from the coefficient bounds (rows the horizontal pass skipped). */
function resampleColumns(
  src: RgbImage,
  outHeight: number,
  c: ResampleCoefficients,
  rowShift: number,
): RgbImage {
  const width = src.width;
  const stride = width * 3;
  const out = new Uint8Array(stride * outHeight);
  const { ksize, first, count, weights } = c;
  const s = src.data;
  for (let yy = 0; yy < outHeight; yy++) {
    const kBase = yy * ksize;
    const rowBase = (first[yy] - rowShift) * stride;
    const n = count[yy];
    for (let i = 0; i < stride; i++) {
      let ss = HALF;
      let p = rowBase + i;
      for (let y = 0; y < n; y++, p += stride) ss += s[p] * weights[kBase + y];
      out[yy * stride + i] = clip8(ss);
    }
  }
  return { width, height: outHeight, data: out };
}

/** `image.resize((width, height), Image.BICUBIC)` of Pillow 9.4 on an RGB image. Returns a new image. */
export function resizeBicubicPil(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new InvalidArgumentError(`resize: target size must be positive integers, got ${width}x${height}`);
  if (width === image.width && height === image.height) return { width, height, data: image.data.slice() }; // Pillow returns a copy

  const horizontal = bicubicCoefficients(image.width, width);
  const vertical = bicubicCoefficients(image.height, height);
  // Pillow resamples horizontally only the rows the vertical pass reads (all rows when height is unchanged).
  const firstRow = vertical.first[0];
  const lastRow = vertical.first[height - 1] + vertical.count[height - 1];
  let current = image;
  let rowShift = 0;
  if (width !== image.width) {
    current = resampleRows(image, firstRow, lastRow - firstRow, width, horizontal);
    rowShift = firstRow;
  }
  if (height !== image.height) current = resampleColumns(current, height, vertical, rowShift);
  return current;
}
