// Seeded random Mamba-like inputs for the consistency tests and the bench.
import type { F32Tensor } from "../src/types.js";

/** Deterministic normal samples (xorshift32 + Box-Muller). */
export function normals(n: number, seed: number, scale = 1, mean = 0): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = mean + scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

export const tensor = (shape: number[], data: Float32Array): F32Tensor => ({ shape, data });

export interface ScanInputs {
  u: F32Tensor;
  delta: F32Tensor;
  A: F32Tensor;
  B: F32Tensor;
  C: F32Tensor;
  D: F32Tensor;
  z: F32Tensor;
  deltaBias: F32Tensor;
  initialState: F32Tensor;
}

/** Inputs shaped like a Mamba layer's: A = -exp(log(1..N) + noise), softplus-range delta, unit-scale rest. */
export function scanInputs(
  batch: number,
  d: number,
  L: number,
  N: number,
  seed: number,
  groups = 0,
): ScanInputs {
  const A = normals(d * N, seed + 1, 0.1);
  for (let c = 0; c < d; c++)
    for (let n = 0; n < N; n++) A[c * N + n] = -Math.exp(Math.log(n + 1) + A[c * N + n]);
  const bcShape = groups ? [batch, groups, N, L] : [batch, N, L];
  const bcSize = batch * (groups || 1) * N * L;
  return {
    u: tensor([batch, d, L], normals(batch * d * L, seed + 2)),
    delta: tensor([batch, d, L], normals(batch * d * L, seed + 3, 0.5)),
    A: tensor([d, N], A),
    B: tensor(bcShape, normals(bcSize, seed + 4)),
    C: tensor(bcShape, normals(bcSize, seed + 5)),
    D: tensor([d], normals(d, seed + 6, 0.2, 1)),
    z: tensor([batch, d, L], normals(batch * d * L, seed + 7)),
    // Mamba's dt bias: inverse softplus of dt in [1e-3, 1e-1]; a few channels above 20 (linear branch).
    deltaBias: tensor(
      [d],
      normals(d, seed + 8, 1, -4).map((v, c) => (c % 11 === 3 ? 20.5 + (c % 3) : v)),
    ),
    initialState: tensor([batch, d, N], normals(batch * d * N, seed + 9, 0.5)),
  };
}

/** Token t of a [batch, X, L] tensor as [batch, X]. */
export function tokenOf(t: F32Tensor, index: number): F32Tensor {
  const [batch, X, L] = t.shape;
  const out = new Float32Array(batch * X);
  for (let i = 0; i < batch * X; i++) out[i] = t.data[i * L + index];
  return tensor([batch, X], out);
}

/** Token t of a grouped [batch, G, N, L] tensor as [batch, G, N]. */
export function tokenOf4(t: F32Tensor, index: number): F32Tensor {
  const [batch, G, N, L] = t.shape;
  const out = new Float32Array(batch * G * N);
  for (let i = 0; i < out.length; i++) out[i] = t.data[i * L + index];
  return tensor([batch, G, N], out);
}

/** Tokens [t0, t1) of a [..., L] tensor. */
export function sliceTokens(t: F32Tensor, t0: number, t1: number): F32Tensor {
  const L = t.shape[t.shape.length - 1];
  const rows = t.data.length / L;
  const out = new Float32Array(rows * (t1 - t0));
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * L + t0, r * L + t1), r * (t1 - t0));
  return tensor([...t.shape.slice(0, -1), t1 - t0], out);
}
