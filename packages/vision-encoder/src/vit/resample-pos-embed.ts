import { InvalidArgumentError } from "@cobra-ts/core";

/**
 * timm's `resample_abs_pos_embed` for a square grid: torch `F.interpolate(mode="bicubic", antialias=True,
 * align_corners=False)` in float32, i.e. ATen's separable anti-aliased kernel (`_upsample_bicubic2d_aa`).
 *
 * That kernel is PIL's resampler, not torch's plain bicubic: the cubic has a = -0.5 (plain bicubic: -0.75),
 * on a downscale its support widens by the scale factor, taps outside the image are dropped (not clamped)
 * and each output's weights are renormalized to sum to 1. Width is resampled first, then height. Float32
 * rounding is reproduced step by step (Math.fround) so the table matches torch to the last bits or close.
 */

const f = Math.fround;

/** float32 fused multiply-add: one rounding, as the compiler contracts `a * b + c` in torch's AVX2 kernels. */
const fma = (a: number, b: number, c: number) => f(a * b + c);

/**
 * Keys' cubic convolution with a = -0.5, evaluated as ATen's anti-aliased bicubic filter is: the inner branch
 * in double (its `a` is a double literal), the outer one in float32 with contracted multiply-adds. This order
 * of roundings reproduces torch 1.13's table to 1 ulp; plain float32 steps are ~4 ulps off.
 */
function cubicAA(x: number): number {
  x = f(Math.abs(x));
  if (x < 1) return f((1.5 * x - 2.5) * x * x + 1);
  if (x < 2) return f(fma(fma(f(x - 5), x, 8), x, -4) * -0.5);
  return 0;
}

/** Per output index: the first input index and the normalized float32 weights of its taps. */
export interface AxisWeights {
  start: Int32Array;
  weights: Float32Array[];
}

/** ATen `_compute_indices_weights_aa` + `_compute_weights_aa` for one axis (align_corners=False, no scale given). */
export function antialiasBicubicWeights(inSize: number, outSize: number): AxisWeights {
  const scale = f(inSize / outSize);
  const support = scale >= 1 ? f(2 * scale) : 2;
  const invScale = scale >= 1 ? f(1 / scale) : 1;
  const start = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = f(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f(center + support) + 0.5), inSize) - xmin;
    const w = new Float32Array(Math.max(xsize, 0));
    let total = 0;
    for (let j = 0; j < w.length; j++) {
      w[j] = cubicAA(f((f(j + xmin - center) + 0.5) * invScale));
      total = f(total + w[j]);
    }
    if (total !== 0) for (let j = 0; j < w.length; j++) w[j] = f(w[j] / total);
    start[i] = xmin;
    weights.push(w);
  }
  return { start, weights };
}

/**
 * Resamples a grid stored token-major, [h * w, dim] row-major (timm's pos_embed without its leading 1), to
 * [newH * newW, dim]. An axis whose size does not change is skipped: torch's kernel puts weight 1 on one tap
 * (and exact zeros on the others) there, so the values pass through unchanged.
 */
export function resampleGrid(
  data: Float32Array,
  [h, w]: readonly [number, number],
  [newH, newW]: readonly [number, number],
  dim: number,
): Float32Array {
  if (data.length !== h * w * dim)
    throw new InvalidArgumentError(`grid data has ${data.length} values, ${h}x${w}x${dim} expected`);
  if (!(newH > 0 && newW > 0))
    throw new InvalidArgumentError(`cannot resample to an empty ${newH}x${newW} grid`);
  // ATen resamples the last axis (width) first, then height.
  const byWidth = w === newW ? data.slice() : resampleAxis(data, h, w, newW, dim);
  return h === newH ? byWidth : resampleAxis(byWidth, 1, h, newH, newW * dim);
}

/** [outer, inLen, inner] -> [outer, outLen, inner], accumulating in float32 tap by tap as ATen does. */
function resampleAxis(
  src: Float32Array,
  outer: number,
  inLen: number,
  outLen: number,
  inner: number,
): Float32Array {
  const { start, weights } = antialiasBicubicWeights(inLen, outLen);
  const out = new Float32Array(outer * outLen * inner);
  for (let b = 0; b < outer; b++)
    for (let o = 0; o < outLen; o++) {
      const wt = weights[o];
      const base = (b * inLen + start[o]) * inner;
      const dst = (b * outLen + o) * inner;
      for (let k = 0; k < inner; k++) {
        let acc = f(src[base + k] * wt[0]);
        for (let j = 1; j < wt.length; j++) acc = f(acc + f(src[base + j * inner + k] * wt[j]));
        out[dst + k] = acc;
      }
    }
  return out;
}

/**
 * timm `resample_abs_pos_embed(posemb, new_size=[g, g], num_prefix_tokens)` on the data of a [1, N, dim]
 * table: the first `numPrefixTokens` rows (class token, when pos_embed covers it) are kept as they are, the
 * rest is taken as a square grid (sqrt(N - prefix)) and resampled to newGrid x newGrid.
 */
export function resampleAbsPosEmbed(
  data: Float32Array,
  dim: number,
  numPrefixTokens: number,
  newGrid: number,
): Float32Array {
  const tokens = data.length / dim;
  const oldGrid = Math.round(Math.sqrt(tokens - numPrefixTokens));
  if (!Number.isInteger(tokens) || oldGrid * oldGrid !== tokens - numPrefixTokens)
    throw new InvalidArgumentError(
      `pos_embed of ${tokens} tokens (${numPrefixTokens} prefix) is not a square grid`,
    );
  if (oldGrid === newGrid) return data;
  const split = numPrefixTokens * dim;
  const grid = resampleGrid(data.subarray(split), [oldGrid, oldGrid], [newGrid, newGrid], dim);
  const out = new Float32Array(split + grid.length);
  out.set(data.subarray(0, split));
  out.set(grid, split);
  return out;
}
