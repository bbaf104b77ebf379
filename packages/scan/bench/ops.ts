// The benchmarked calls (Mamba-2.8B layer shapes) and the timer: environment-free, shared by the Node bench
// and its WebGPU page.
import type { ScanKernel } from "../src/types.js";
import { normals, scanInputs, tensor, tokenOf } from "../test/random.js";

export const d = 5120;
export const N = 16;
export const W = 4;

export interface Row {
  impl: string;
  op: string;
  d: number;
  N: number;
  L: number;
  ms: number;
  ratio_vs_reference: number | null;
}

export interface BenchOp {
  op: string;
  L: number;
  /** channel x state x token updates (scan ops) or channel x tap x token (conv ops) */
  work: number;
  run: (k: ScanKernel) => Promise<unknown>;
}

/**
 * Median time per call: after a warm-up, `rounds` rounds of `inner` back-to-back calls each (many for the
 * one-token ops, whose single-call time is near the timer's resolution), stopping early past `budgetMs`.
 */
export async function time(
  fn: () => unknown,
  rounds: number,
  inner: number,
  budgetMs: number,
): Promise<number> {
  for (let i = 0; i < Math.min(inner, 20); i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    times.push((performance.now() - t0) / inner);
    if (performance.now() - start > budgetMs) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function benchOps(): BenchOp[] {
  const long = scanInputs(1, d, 1024, N, 1);
  const one = scanInputs(1, d, 1, N, 2);
  const scanOpts = (s: typeof long) => ({
    D: s.D,
    z: s.z,
    deltaBias: s.deltaBias,
    deltaSoftplus: true,
    initialState: s.initialState,
  });
  const state = tensor([1, d, N], one.initialState.data.slice());
  const x = tensor([1, d, 1024], normals(d * 1024, 3));
  const w = tensor([d, W], normals(d * W, 4, 0.5));
  const bias = tensor([d], normals(d, 5));
  const convState = tensor([1, d, W], normals(d * W, 6));
  const xTok = tokenOf(x, 0);
  const [u1, dt1, B1, C1, z1] = [one.u, one.delta, one.B, one.C, one.z].map((t) => tokenOf(t, 0));
  return [
    {
      op: "selectiveScan",
      L: 1024,
      work: d * N * 1024,
      run: (k) => k.selectiveScan(long.u, long.delta, long.A, long.B, long.C, scanOpts(long)),
    },
    {
      op: "selectiveScan",
      L: 1,
      work: d * N,
      run: (k) => k.selectiveScan(one.u, one.delta, one.A, one.B, one.C, scanOpts(one)),
    },
    {
      op: "selectiveStateUpdate",
      L: 1,
      work: d * N,
      run: (k) =>
        k.selectiveStateUpdate(state, u1, dt1, one.A, B1, C1, {
          D: one.D,
          z: z1,
          dtBias: one.deltaBias,
          dtSoftplus: true,
        }),
    },
    {
      op: "causalConv1d",
      L: 1024,
      work: d * W * 1024,
      run: (k) => k.causalConv1d(x, w, bias, { silu: true }),
    },
    {
      op: "causalConv1dUpdate",
      L: 1,
      work: d * W,
      run: (k) => k.causalConv1dUpdate(convState, xTok, w, bias, { silu: true }),
    },
  ];
}

/** Repetitions for a kernel of this speed class. */
export function reps(
  o: BenchOp,
  slow: boolean,
  quick: boolean,
): { rounds: number; inner: number; budgetMs: number } {
  const inner = o.L === 1 ? (slow ? 10 : 200) : 1;
  const rounds = quick ? 3 : o.L === 1 ? 11 : slow ? 3 : 11;
  return { rounds, inner, budgetMs: slow ? 8000 : 4000 };
}
