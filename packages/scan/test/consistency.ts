// Self-consistency checks any kernel must pass: the one-token ops equal the full ops run token by token,
// chunked calls (initial state = previous final state) equal one call, and random Mamba-shaped inputs agree
// with the reference (grouped B/C, odd N, d not a multiple of 4, L longer than the wasm chunk).
// Environment-free: also bundled into the WebGPU test page.
import { referenceKernel } from "../src/reference.js";
import type { F32Tensor, ScanKernel } from "../src/types.js";
import { normals, scanInputs, sliceTokens, tensor, tokenOf, tokenOf4 } from "./random.js";

export interface Check {
  name: string;
  actual: Float32Array;
  expected: Float32Array;
}

function concatTokens(parts: F32Tensor[]): Float32Array {
  const [batch, X] = parts[0].shape;
  const L = parts.reduce((a, p) => a + p.shape[2], 0);
  const out = new Float32Array(batch * X * L);
  let t0 = 0;
  for (const p of parts) {
    const Lp = p.shape[2];
    for (let r = 0; r < batch * X; r++) out.set(p.data.subarray(r * Lp, (r + 1) * Lp), r * L + t0);
    t0 += Lp;
  }
  return out;
}

async function scanVsSteps(
  k: ScanKernel,
  name: string,
  batch: number,
  d: number,
  L: number,
  N: number,
  groups: number,
): Promise<Check[]> {
  const s = scanInputs(batch, d, L, N, 100 + d + N, groups);
  const full = await k.selectiveScan(s.u, s.delta, s.A, s.B, s.C, {
    D: s.D,
    z: s.z,
    deltaBias: s.deltaBias,
    deltaSoftplus: true,
    initialState: s.initialState,
  });
  const state = tensor([...s.initialState.shape], s.initialState.data.slice());
  const outs: F32Tensor[] = [];
  for (let t = 0; t < L; t++) {
    const tok = groups ? tokenOf4 : tokenOf;
    const y = await k.selectiveStateUpdate(
      state,
      tokenOf(s.u, t),
      tokenOf(s.delta, t),
      s.A,
      tok(s.B, t),
      tok(s.C, t),
      {
        D: s.D,
        z: tokenOf(s.z, t),
        dtBias: s.deltaBias,
        dtSoftplus: true,
      },
    );
    outs.push(tensor([batch, d, 1], y.data));
  }
  return [
    { name: `${name}: out`, actual: concatTokens(outs), expected: full.out.data },
    { name: `${name}: last state`, actual: state.data, expected: full.lastState.data },
  ];
}

async function chunkedScan(k: ScanKernel, L1: number, L: number): Promise<Check[]> {
  const s = scanInputs(1, 24, L, 16, 7);
  const opts = { D: s.D, z: s.z, deltaBias: s.deltaBias, deltaSoftplus: true };
  const full = await k.selectiveScan(s.u, s.delta, s.A, s.B, s.C, opts);
  const part = (t0: number, t1: number, initialState?: F32Tensor) =>
    k.selectiveScan(
      sliceTokens(s.u, t0, t1),
      sliceTokens(s.delta, t0, t1),
      s.A,
      sliceTokens(s.B, t0, t1),
      sliceTokens(s.C, t0, t1),
      { ...opts, z: sliceTokens(s.z, t0, t1), initialState },
    );
  const a = await part(0, L1);
  const b = await part(L1, L, a.lastState);
  return [
    { name: "chunked prefill: out", actual: concatTokens([a.out, b.out]), expected: full.out.data },
    { name: "chunked prefill: last state", actual: b.lastState.data, expected: full.lastState.data },
  ];
}

async function convVsSteps(k: ScanKernel, batch: number, d: number, L: number, W: number): Promise<Check[]> {
  const x = tensor([batch, d, L], normals(batch * d * L, 31));
  const w = tensor([d, W], normals(d * W, 32, 0.5));
  const bias = tensor([d], normals(d, 33));
  const init = tensor([batch, d, W - 1], normals(batch * d * (W - 1), 34));
  const full = await k.causalConv1d(x, w, bias, { initialState: init, silu: true });
  // The update's state holds W inputs; its first column is dropped by the first roll (junk on purpose).
  const st = new Float32Array(batch * d * W);
  for (let r = 0; r < batch * d; r++) {
    st[r * W] = 123;
    st.set(init.data.subarray(r * (W - 1), (r + 1) * (W - 1)), r * W + 1);
  }
  const state = tensor([batch, d, W], st);
  const outs: F32Tensor[] = [];
  for (let t = 0; t < L; t++) {
    const y = await k.causalConv1dUpdate(state, tokenOf(x, t), w, bias, { silu: true });
    outs.push(tensor([batch, d, 1], y.data));
  }
  const finalFromSteps = new Float32Array(batch * d * (W - 1));
  for (let r = 0; r < batch * d; r++) finalFromSteps.set(st.subarray(r * W + 1, (r + 1) * W), r * (W - 1));
  const half = Math.floor(L / 2);
  const a = await k.causalConv1d(sliceTokens(x, 0, half), w, bias, { initialState: init, silu: true });
  const b = await k.causalConv1d(sliceTokens(x, half, L), w, bias, {
    initialState: a.finalState,
    silu: true,
  });
  return [
    { name: "conv update token by token: out", actual: concatTokens(outs), expected: full.out.data },
    {
      name: "conv update token by token: final state",
      actual: finalFromSteps,
      expected: full.finalState.data,
    },
    { name: "chunked conv: out", actual: concatTokens([a.out, b.out]), expected: full.out.data },
    { name: "chunked conv: final state", actual: b.finalState.data, expected: full.finalState.data },
  ];
}

async function vsReference(k: ScanKernel, groups: boolean, width1: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  const cases: [string, number, number, number, number, number, boolean][] = [
    // name, batch, d, L, N, groups, initial state
    ["scan d70 L300 N16", 2, 70, 300, 16, 0, false],
    groups
      ? ["scan d70 L300 N7 groups 2 + initial state", 1, 70, 300, 7, 2, true]
      : ["scan d70 L300 N7 + initial state", 1, 70, 300, 7, 0, true],
    ["scan d5 L1 N16", 1, 5, 1, 16, 0, true],
  ];
  for (const [name, batch, d, L, N, groups, init] of cases) {
    const s = scanInputs(batch, d, L, N, 55 + d + L, groups);
    const o = {
      D: s.D,
      z: s.z,
      deltaBias: s.deltaBias,
      deltaSoftplus: true,
      initialState: init ? s.initialState : undefined,
    };
    const r = await referenceKernel.selectiveScan(s.u, s.delta, s.A, s.B, s.C, o);
    const a = await k.selectiveScan(s.u, s.delta, s.A, s.B, s.C, o);
    checks.push({ name: `${name}: out`, actual: a.out.data, expected: r.out.data });
    checks.push({ name: `${name}: last state`, actual: a.lastState.data, expected: r.lastState.data });
  }
  {
    const s = scanInputs(2, 70, 1, 7, 77, groups ? 2 : 0);
    const sr = tensor([...s.initialState.shape], s.initialState.data.slice());
    const sa = tensor([...s.initialState.shape], s.initialState.data.slice());
    const tok = groups ? tokenOf4 : tokenOf;
    const args = [tokenOf(s.u, 0), tokenOf(s.delta, 0), s.A, tok(s.B, 0), tok(s.C, 0)] as const;
    const o = { D: s.D, z: tokenOf(s.z, 0), dtBias: s.deltaBias, dtSoftplus: true };
    const r = await referenceKernel.selectiveStateUpdate(sr, ...args, o);
    const a = await k.selectiveStateUpdate(sa, ...args, o);
    checks.push({
      name: `state update d70 N7 groups ${groups ? 2 : 1}: out`,
      actual: a.data,
      expected: r.data,
    });
    checks.push({
      name: `state update d70 N7 groups ${groups ? 2 : 1}: state`,
      actual: sa.data,
      expected: sr.data,
    });
  }
  const convCases: [number, number, boolean][] = [
    [300, 4, true],
    [2, 3, false],
  ];
  if (width1) convCases.push([9, 1, true]);
  for (const [L, W, withBias] of convCases) {
    const x = tensor([2, 70, L], normals(2 * 70 * L, 41 + L));
    const w = tensor([70, W], normals(70 * W, 42));
    const bias = withBias ? tensor([70], normals(70, 43)) : null;
    const r = await referenceKernel.causalConv1d(x, w, bias, { silu: withBias });
    const a = await k.causalConv1d(x, w, bias, { silu: withBias });
    checks.push({ name: `conv L${L} W${W}: out`, actual: a.out.data, expected: r.out.data });
    checks.push({
      name: `conv L${L} W${W}: final state`,
      actual: a.finalState.data,
      expected: r.finalState.data,
    });
  }
  return checks;
}

/** What a kernel supports beyond the fixture's cases (the ONNX emitters: neither). */
export interface Coverage {
  /** B/C of shape [batch, G, N, L]. */
  groups?: boolean;
  /** Conv width 1. */
  width1?: boolean;
}

/** All checks; compare each actual with its expected at the kernel's tolerance. */
export async function consistencyChecks(k: ScanKernel, coverage: Coverage = {}): Promise<Check[]> {
  const { groups = true, width1 = true } = coverage;
  return [
    ...(await scanVsSteps(k, "scan == state update token by token (d37 N16)", 2, 37, 19, 16, 0)),
    ...(groups
      ? await scanVsSteps(k, "scan == state update token by token (d38 N6 groups 2)", 1, 38, 11, 6, 2)
      : []),
    ...(await chunkedScan(k, 131, 300)),
    ...(await convVsSteps(k, 2, 21, 13, 4)),
    ...(await vsReference(k, groups, width1)),
  ];
}
