// Shared by the ViT and encoder tests (not exported from the package).

export { pseudoRandom } from "@cobra-ts/core/testing";
/** Fixture paths come from the package's one fixture helper (@cobra-ts/core/testing underneath). */
export { fixturePath } from "../../test/fixtures.js";

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** torchvision ToTensor + Normalize on uint8 CHW planes, in float32 step by step. */
export function normalizeChwU8(
  u8: Uint8Array,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const f = Math.fround;
  const plane = u8.length / 3;
  const out = new Float32Array(u8.length);
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]);
    const s = f(std[c]);
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = f(f(f(u8[i] / 255) - m) / s);
  }
  return out;
}
