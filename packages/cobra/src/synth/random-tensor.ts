/**
 * How a synthetic tensor is filled. Values only need to keep the model finite at every depth (so speed is
 * measured on real arithmetic, not on NaN/inf paths); they mimic the magnitudes of the usual initializations.
 */
export type TensorInit =
  /** Zero-mean uniform with standard deviation `std` (a cheap stand-in for N(0, std^2)). */
  | { kind: "uniform"; std: number }
  | { kind: "constant"; value: number }
  /** Mamba's S4D-real A_log: log(1..N) along the last axis. */
  | { kind: "a-log" }
  /** Mamba's dt_proj.bias: softplus^-1(dt) with dt log-uniform in [min, max]. */
  | { kind: "dt-bias"; min: number; max: number };

export interface SyntheticTensor {
  shape: number[];
  init: TensorInit;
}

/**
 * xorshift32: a few integer ops per value, so filling the 11 GB of Mamba-2.8B costs seconds, not minutes.
 * Statistical quality is irrelevant here; determinism (same seed, same bytes) is what matters.
 */
export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9; // xorshift has one fixed point: 0
  }
  /** A uniform value in [-1, 1). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return (x | 0) * 2 ** -31;
  }
}

/** FNV-1a of a tensor name: each tensor gets its own stream, independent of the order tensors are read in. */
export function tensorSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fills a new Float32Array for `tensor` from a stream seeded by its name. */
export function fillTensor(name: string, tensor: SyntheticTensor, seed: number): Float32Array {
  const out = new Float32Array(elementCount(tensor.shape));
  const rng = new Xorshift32(tensorSeed(name, seed));
  const init = tensor.init;
  switch (init.kind) {
    case "constant":
      out.fill(init.value);
      break;
    case "uniform": {
      const scale = init.std * Math.sqrt(3); // uniform on [-a, a] has std a / sqrt(3)
      for (let i = 0; i < out.length; i++) out[i] = scale * rng.next();
      break;
    }
    case "a-log": {
      const n = tensor.shape[tensor.shape.length - 1];
      for (let i = 0; i < out.length; i++) out[i] = Math.log(1 + (i % n));
      break;
    }
    case "dt-bias": {
      const [lo, hi] = [Math.log(init.min), Math.log(init.max)];
      for (let i = 0; i < out.length; i++) {
        const dt = Math.exp(lo + ((rng.next() + 1) / 2) * (hi - lo));
        out[i] = dt + Math.log(-Math.expm1(-dt)); // inverse of softplus
      }
      break;
    }
  }
  return out;
}
