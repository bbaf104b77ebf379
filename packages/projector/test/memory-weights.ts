import { MemoryWeights, type TensorInit, type WeightSource } from "@cobra-ts/core";
import { pseudoRandom } from "@cobra-ts/core/testing";

/** A float tensor given by value; `dtype` (default F32) lets a test fake e.g. an integer tensor. */
export type MemoryTensor = TensorInit & { data: Float32Array };

/** An in-memory WeightSource, for random-weight and bad-checkpoint tests. */
export function memoryWeights(tensors: Record<string, MemoryTensor>, path = "memory.pt"): WeightSource {
  return new MemoryWeights(tensors, path);
}

/** Random weights for a list of (key, shape), scaled like torch's default init (1/sqrt(fan_in)). */
export function randomWeights(
  shapes: Array<{ key: string; shape: number[] }>,
  seed: number,
): Record<string, MemoryTensor> {
  const out: Record<string, MemoryTensor> = {};
  shapes.forEach(({ key, shape }, i) => {
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : shape[0];
    const n = shape.reduce((a, b) => a * b, 1);
    out[key] = { shape, data: pseudoRandom(n, seed * 1000 + i, 1 / Math.sqrt(fanIn)) };
  });
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Concatenates arrays end to end (e.g. images into one batch). */
export function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
