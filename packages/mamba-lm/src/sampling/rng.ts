import { InvalidArgumentError } from "@cobra-ts/core";

/** A source of uniform numbers in [0, 1). */
export interface Rng {
  nextFloat(): number;
}

/**
 * xoshiro128** (Blackman & Vigna): small, fast, 32-bit only (no BigInt), good statistical quality. The state is
 * seeded by SplitMix32 from the two halves of the seed, so nearby seeds give unrelated streams.
 */
export class Xoshiro128StarStar implements Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new InvalidArgumentError(`seed must be a safe integer, got ${seed}`);
    // Low 32 bits seed words 0-1, high bits words 2-3: distinct safe-integer seeds give distinct states.
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) | 0;
    [this.s[0], this.s[1]] = splitMix32(low, 2);
    [this.s[2], this.s[3]] = splitMix32(high ^ 0x6a09e667, 2);
    if (this.s.every((word) => word === 0)) this.s[0] = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** 53 random bits, so every double in [0, 1) on the 2^-53 grid is possible. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 2 ** 26 + low) / 2 ** 53;
  }
}

function splitMix32(state: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = Math.imul(state ^ (state >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out.push((z ^ (z >>> 16)) >>> 0);
  }
  return out;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded generator; without a seed, one drawn from `crypto.getRandomValues` (Node and browsers). */
export function createRng(seed?: number): Xoshiro128StarStar {
  return new Xoshiro128StarStar(seed ?? randomSeed());
}

export function randomSeed(): number {
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1]; // 53 bits: a safe integer
}
