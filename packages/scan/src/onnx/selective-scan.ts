/**
 * ONNX emitters for the selective scan and its one-token update, in two forms:
 * - "scan": standard ops (any ONNX runtime): the Scan op, in one of three schedules (ScanSchedule, see
 *   scan-recurrence.ts); the update is the same recurrence (recurrence.ts) on one token, without a Scan.
 * - "linear-attention": onnxruntime's com.microsoft LinearAttention, see linear-attention.ts.
 * u, delta, z, B, C come in either layout (see ScanLayout): selective_scan_ref's [batch, d, L] / [batch, N, L]
 * ("channels-first", the default) or a model's [batch, L, d] / [batch, L, N] ("channels-last").
 */
import { type GraphBuilder, InvalidArgumentError } from "@cobra-ts/core";
import { batchZeros, silu, softplusTorch, transpose, unsqueeze } from "./common.js";
import { emitLinearAttentionScan } from "./linear-attention.js";
import { advance, discretize, readOut } from "./recurrence.js";
import {
  fromChannelsLast,
  fromTimeMajor,
  perChannel,
  type ScanLayout,
  toChannelsLast,
  toTimeMajor,
} from "./scan-layout.js";
import { emitScanRecurrence, type ScanSchedule } from "./scan-recurrence.js";

export interface OnnxScanInputs {
  /** [batch, d, L] (channels-first) or [batch, L, d] (channels-last) */
  u: string;
  /** Like u. */
  delta: string;
  /** [d, N] */
  A: string;
  /** [batch, N, L] (channels-first) or [batch, L, N] (channels-last) */
  B: string;
  /** Like B. */
  C: string;
  /** [d]: out += D u */
  D?: string;
  /** Like u: out *= silu(z) */
  z?: string;
  /** [d], added to delta before the softplus */
  deltaBias?: string;
  /** [batch, d, N]; zeros when absent */
  initialState?: string;
}

export interface OnnxScanConfig {
  d: number;
  N: number;
  deltaSoftplus?: boolean;
  /** Layout of u, delta, z, B, C; default "channels-first" (selective_scan_ref's). */
  layout?: ScanLayout;
  /** Default "scan". */
  via?: "scan" | "linear-attention";
  /** "scan" form only: the Scan's schedule (see ScanSchedule); default "after". */
  schedule?: ScanSchedule;
  /**
   * "scan" form only: the layout of initialState and lastState. "d-major" (default) is mamba_ssm's [batch, d, N];
   * "n-major" is [batch, N, d], the Scan's own, so the state is not transposed on the way in and out (two
   * [batch, d, N] transposes a layer: more than the rest of a decode step at Mamba-1.4B widths and batch 30).
   */
  stateLayout?: "d-major" | "n-major";
}

export interface OnnxStateUpdateInputs {
  /** [batch, d, N] */
  state: string;
  /** [batch, d] */
  x: string;
  /** [batch, d] */
  dt: string;
  A: string;
  /** [batch, N] */
  B: string;
  /** [batch, N] */
  C: string;
  D?: string;
  z?: string;
  dtBias?: string;
}

export interface OnnxStateUpdateConfig {
  d: number;
  N: number;
  dtSoftplus?: boolean;
  /** Default "ops" (plain elementwise ops). */
  via?: "ops" | "linear-attention";
}

/** Emits selective_scan_ref; returns out (u's layout) and lastState [batch, d, N]. */
export function emitSelectiveScan(
  g: GraphBuilder,
  x: OnnxScanInputs,
  cfg: OnnxScanConfig,
): { out: string; lastState: string } {
  const layout = cfg.layout ?? "channels-first";
  const dt = prepareDt(g, x.delta, x.deltaBias, cfg.deltaSoftplus ?? false, layout);
  const nMajor = cfg.stateLayout === "n-major";
  if (nMajor && cfg.via === "linear-attention")
    throw new InvalidArgumentError(
      'stateLayout "n-major" is for the "scan" form; linear-attention keeps [batch, d, N]',
    );
  const h0 =
    x.initialState ??
    batchZeros(g, x.u, nMajor ? [cfg.N, cfg.d] : [cfg.d, cfg.N], layout === "time-major" ? 1 : 0);
  let y: string;
  let lastState: string;
  if (cfg.via === "linear-attention") {
    const cl = (v: string) => toChannelsLast(g, v, layout);
    const r = emitLinearAttentionScan(
      g,
      { dt: cl(dt), x: cl(x.u), A: x.A, B: cl(x.B), C: cl(x.C), h0 },
      cfg.d,
      cfg.N,
    );
    y = fromChannelsLast(g, r.y, layout);
    lastState = r.hT;
  } else {
    const tm = (v: string) => toTimeMajor(g, v, layout);
    const r = emitScanRecurrence(
      g,
      { dt: tm(dt), x: tm(x.u), A: x.A, B: tm(x.B), C: tm(x.C), h0 },
      cfg.schedule,
      nMajor,
    );
    y = fromTimeMajor(g, r.y, layout);
    lastState = r.hT;
  }
  return { out: skipAndGate(g, y, x.u, x.D, x.z, layout), lastState };
}

/** Emits selective_state_update_ref; returns out [batch, d] and the new state [batch, d, N]. */
export function emitSelectiveStateUpdate(
  g: GraphBuilder,
  x: OnnxStateUpdateInputs,
  cfg: OnnxStateUpdateConfig,
): { out: string; state: string } {
  // One token's [batch, d] broadcasts per channel like a channels-last sequence.
  const layout = "channels-last";
  const dt = prepareDt(g, x.dt, x.dtBias, cfg.dtSoftplus ?? false, layout);
  let y: string;
  let state: string;
  if (cfg.via === "linear-attention") {
    const seq = (v: string) => unsqueeze(g, v, [1]); // [batch, C] -> a one-token [batch, 1, C]
    const r = emitLinearAttentionScan(
      g,
      { dt: seq(dt), x: seq(x.x), A: x.A, B: seq(x.B), C: seq(x.C), h0: x.state },
      cfg.d,
      cfg.N,
    );
    y = g.op("Squeeze", [r.y, g.constInt64([1])]);
    state = r.hT;
  } else {
    // As recurrence.ts wants: dt, x, C [batch, 1, *]; B [batch, N, 1]; A [N, d]; h [batch, N, d].
    const row = (v: string) => unsqueeze(g, v, [1]);
    const A = transpose(g, x.A, [1, 0]);
    const { dA, dBx } = discretize(g, row(dt), A, unsqueeze(g, x.B, [2]), row(x.x));
    const h = advance(g, dA, transpose(g, x.state, [0, 2, 1]), dBx);
    y = readOut(g, h, row(x.C));
    state = transpose(g, h, [0, 2, 1]);
  }
  return { out: skipAndGate(g, y, x.x, x.D, x.z, layout), state };
}

/** dt = delta + bias (per channel), then torch's softplus when asked. */
function prepareDt(
  g: GraphBuilder,
  delta: string,
  bias: string | undefined,
  softplus: boolean,
  layout: ScanLayout,
): string {
  const dt = bias ? g.op("Add", [delta, perChannel(g, bias, layout)]) : delta;
  return softplus ? softplusTorch(g, dt) : dt;
}

/** y + u D (D per channel), then y * silu(z): mamba_ssm's order. */
function skipAndGate(
  g: GraphBuilder,
  y: string,
  u: string,
  D: string | undefined,
  z: string | undefined,
  layout: ScanLayout,
): string {
  let out = y;
  if (D) out = g.op("Add", [out, g.op("Mul", [u, perChannel(g, D, layout)])]);
  if (z) out = g.op("Mul", [out, silu(g, z)]);
  return out;
}
