// Runs the fixture cases (expected/scan.json) on any ScanKernel. Environment-free: also bundled into the
// WebGPU test page, which gets the tensors from Node.
import type { F32Tensor, ScanKernel } from "../src/types.js";

export interface ScanCase {
  kind:
    | "selective_scan_ref"
    | "selective_state_update_ref"
    | "causal_conv1d_ref"
    | "causal_conv1d_update_ref";
  case: string;
  shapes: Record<string, number[] | null>;
  flags: Record<string, boolean | number | string | null>;
  tensors: string[];
}

export type Tensors = Record<string, F32Tensor>;

/** Kind prefix of the tensor names (`<kind>/<case>/<arg>`). */
export const PREFIX: Record<ScanCase["kind"], string> = {
  selective_scan_ref: "scan",
  selective_state_update_ref: "ssu",
  causal_conv1d_ref: "conv",
  causal_conv1d_update_ref: "conv_update",
};

/** The argument names of the tensors a case's kernel computes (the rest are its inputs). */
export const OUTPUTS = new Set(["out", "last_state", "state_out", "final_states", "conv_state_out"]);

/**
 * The outputs a case stores, each with its tensor name: `<arg>` -> `<kind>/<case>/<arg>` (the names listed in
 * scan.json, not assumed).
 */
export function storedOutputs(c: ScanCase): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of c.tensors) {
    const arg = name.slice(name.lastIndexOf("/") + 1);
    if (OUTPUTS.has(arg)) out.set(arg, name);
  }
  return out;
}

const copy = (t: F32Tensor): F32Tensor => ({ shape: [...t.shape], data: t.data.slice() });

/** Runs one case; returns the computed tensors under the names the fixture stores the expected ones. */
export async function runCase(
  kernel: ScanKernel,
  c: ScanCase,
  t: Tensors,
): Promise<Record<string, Float32Array>> {
  const get = (arg: string): F32Tensor | undefined => t[`${PREFIX[c.kind]}/${c.case}/${arg}`];
  const req = (arg: string): F32Tensor => {
    const x = get(arg);
    if (!x) throw new Error(`${c.case}: missing tensor ${arg}`);
    return x;
  };
  switch (c.kind) {
    case "selective_scan_ref": {
      const r = await kernel.selectiveScan(req("u"), req("delta"), req("A"), req("B"), req("C"), {
        D: get("D"),
        z: get("z"),
        deltaBias: get("delta_bias"),
        deltaSoftplus: c.flags.delta_softplus === true,
      });
      return c.flags.return_last_state
        ? { out: r.out.data, last_state: r.lastState.data }
        : { out: r.out.data };
    }
    case "selective_state_update_ref": {
      const state = copy(req("state_in"));
      const out = await kernel.selectiveStateUpdate(
        state,
        req("x"),
        req("dt"),
        req("A"),
        req("B"),
        req("C"),
        {
          D: get("D"),
          z: get("z"),
          dtBias: get("dt_bias"),
          dtSoftplus: c.flags.dt_softplus === true,
        },
      );
      return { out: out.data, state_out: state.data };
    }
    case "causal_conv1d_ref": {
      const r = await kernel.causalConv1d(req("x"), req("weight"), get("bias") ?? null, {
        initialState: get("initial_states"),
        silu: c.flags.activation === "silu",
      });
      return { out: r.out.data, final_states: r.finalState.data };
    }
    case "causal_conv1d_update_ref": {
      const state = copy(req("conv_state_in"));
      const out = await kernel.causalConv1dUpdate(state, req("x"), req("weight"), get("bias") ?? null, {
        silu: c.flags.activation === "silu",
      });
      return { out: out.data, conv_state_out: state.data };
    }
  }
}

export interface Comparison {
  maxAbs: number;
  /** max |a - e| / |e| over elements with |e| > atol */
  maxRel: number;
  /** max |a - e| / max |e| */
  maxRelToMax: number;
  /** Elements violating |a - e| <= atol + rtol * |e| (or rtol * max |e| when normwise). */
  bad: number;
  /** max |a - e| / (atol + rtol |e|) (or the normwise bound): <= 1 passes. */
  worstRatio: number;
}

/**
 * Elementwise (default): |a - e| <= atol + rtol |e| for every element, the bar for the fixtures.
 * Normwise: |a - e| <= atol + rtol max|e|, for long random sequences whose outputs cancel to near zero here
 * and there (float32 rounding of terms of size max|e| is then large relative to the element).
 */
export function compare(
  actual: Float32Array,
  expected: Float32Array,
  rtol: number,
  atol: number,
  normwise = false,
): Comparison {
  const inf = Number.POSITIVE_INFINITY;
  if (actual.length !== expected.length)
    return { maxAbs: inf, maxRel: inf, maxRelToMax: inf, bad: -1, worstRatio: inf };
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i];
    const d = Math.abs(actual[i] - e);
    const bound = atol + rtol * (normwise ? scale : Math.abs(e));
    if (!(d <= bound)) bad++;
    if (!(d / bound <= worstRatio)) worstRatio = d / bound;
    if (!(d <= maxAbs)) maxAbs = d;
    if (Math.abs(e) > atol && !(d / Math.abs(e) <= maxRel)) maxRel = d / Math.abs(e);
  }
  return { maxAbs, maxRel, maxRelToMax: scale > 0 ? maxAbs / scale : maxAbs, bad, worstRatio };
}
