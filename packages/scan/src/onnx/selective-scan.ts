/**
 * ONNX emitters for the selective scan and its one-token update, in two forms:
 * - "scan": the standard Scan op (any onnxruntime, any ONNX runtime); one body step per token.
 * - "linear-attention": onnxruntime's com.microsoft LinearAttention (onnxruntime >= 1.30, CPU / CUDA /
 *   WebGPU kernels), update_rule "gated" with per-key decay. The mapping is exact: each channel c is a KV
 *   head with d_k = N (the states) and d_v = 1, and one query head (C_t) is shared by all of them:
 *     S_t = exp(g_t) * S_{t-1} + k_t v_t^T,  o_t = scale q_t^T S_t
 *   with g_t = dt_t A[c, :], k_t = B_t, v_t = dt_t u_t, q_t = C_t, scale 1, S = h[c, :] as [N, 1].
 *   Its key and decay inputs are [batch, L, d N]: fine for decoding, memory-hungry for long prefills.
 * B and C must be [batch, N, L] (scan) / [batch, N] (update): the fixture's and Mamba's layout.
 */
import { FloatAttr, type GraphBuilder } from "@cobra-ts/core";
import { prepareDt, skipAndGate, transpose, unsqueeze, zerosLike0 } from "./common.js";

export interface OnnxScanInputs {
  /** [batch, d, L] */
  u: string;
  /** [batch, d, L] */
  delta: string;
  /** [d, N] */
  A: string;
  /** [batch, N, L] */
  B: string;
  /** [batch, N, L] */
  C: string;
  D?: string;
  z?: string;
  deltaBias?: string;
  /** [batch, d, N] */
  initialState?: string;
}

export interface OnnxScanConfig {
  d: number;
  N: number;
  deltaSoftplus?: boolean;
  /** Default "scan". */
  via?: "scan" | "linear-attention";
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

/** Emits selective_scan_ref; returns out [batch, d, L] and lastState [batch, d, N]. */
export function emitSelectiveScan(
  g: GraphBuilder,
  x: OnnxScanInputs,
  cfg: OnnxScanConfig,
): { out: string; lastState: string } {
  const dt = prepareDt(g, x.delta, x.deltaBias, cfg.deltaSoftplus ?? false, 3);
  const du = g.op("Mul", [dt, x.u]);
  const h0 = x.initialState ?? zerosLike0(g, x.u, [cfg.d, cfg.N]);
  const { y, hT } =
    cfg.via === "linear-attention"
      ? linearAttention(g, dt, du, x.A, x.B, x.C, h0, cfg.d, cfg.N)
      : scanOp(g, dt, du, x.A, x.B, x.C, h0);
  return { out: skipAndGate(g, y, x.u, x.D, x.z, 3), lastState: hT };
}

/** Emits selective_state_update_ref; returns out [batch, d] and the new state [batch, d, N]. */
export function emitSelectiveStateUpdate(
  g: GraphBuilder,
  x: OnnxStateUpdateInputs,
  cfg: OnnxStateUpdateConfig,
): { out: string; state: string } {
  const dt = prepareDt(g, x.dt, x.dtBias, cfg.dtSoftplus ?? false, 2);
  const du = g.op("Mul", [dt, x.x]);
  let y: string;
  let state: string;
  if (cfg.via === "linear-attention") {
    // A one-token sequence: [batch, d] -> [batch, d, 1], [batch, N] -> [batch, N, 1].
    const seq = (v: string) => unsqueeze(g, v, [2]);
    const r = linearAttention(g, seq(dt), seq(du), x.A, seq(x.B), seq(x.C), x.state, cfg.d, cfg.N);
    y = g.op("Squeeze", [r.y, g.constInt64([2])]);
    state = r.hT;
  } else {
    const r = step(g, dt, du, x.A, x.B, x.C, x.state);
    y = r.y;
    state = r.h;
  }
  return { out: skipAndGate(g, y, x.x, x.D, x.z, 2), state };
}

/** One recurrence step on [batch, d] dt/du and [batch, N] B/C: h = exp(dt A) h + du B; y = h . C. */
function step(
  g: GraphBuilder,
  dt: string,
  du: string,
  A: string,
  B: string,
  C: string,
  h: string,
): { h: string; y: string } {
  const dA = g.op("Exp", [g.op("Mul", [unsqueeze(g, dt, [2]), A])]);
  const next = g.op("Add", [
    g.op("Mul", [dA, h]),
    g.op("Mul", [unsqueeze(g, du, [2]), unsqueeze(g, B, [1])]),
  ]);
  const y = g.op("ReduceSum", [g.op("Mul", [next, unsqueeze(g, C, [1])]), g.constInt64([2])], {
    keepdims: 0,
  });
  return { h: next, y };
}

/** The standard Scan op over axis 2 (tokens) of dt, du [batch, d, L] and B, C [batch, N, L]. */
function scanOp(
  g: GraphBuilder,
  dt: string,
  du: string,
  A: string,
  B: string,
  C: string,
  h0: string,
): { y: string; hT: string } {
  const body = g.subgraph("selective_scan_step");
  // Names from the outer graph's counter (shared with the body): unique in both scopes.
  const [hIn, dtT, duT, bT, cT] = ["h_prev", "dt_t", "du_t", "B_t", "C_t"].map((n) =>
    body.input(g.fresh(n), "float32", null),
  );
  const r = step(body, dtT, duT, A, bT, cT, hIn);
  body.output(r.h, "float32", null);
  body.output(r.y, "float32", null);
  const [hT, y] = g.opMulti("Scan", [h0, dt, du, B, C], 2, {
    body,
    num_scan_inputs: 4,
    scan_input_axes: [2, 2, 2, 2],
    scan_output_axes: [2],
  });
  return { y, hT };
}

/** com.microsoft LinearAttention, gated, per-key decay (see the module comment). Shapes as `scanOp`. */
function linearAttention(
  g: GraphBuilder,
  dt: string,
  du: string,
  A: string,
  B: string,
  C: string,
  h0: string,
  d: number,
  N: number,
): { y: string; hT: string } {
  // decay [batch, L, d N] = dt[b, c, t] * A[c, n]
  const decay4 = g.op("Mul", [unsqueeze(g, dt, [3]), unsqueeze(g, A, [1])]); // [batch, d, L, N]
  const decay = g.op("Reshape", [transpose(g, decay4, [0, 2, 1, 3]), g.constInt64([0, 0, d * N])]);
  const Bt = transpose(g, B, [0, 2, 1]); // [batch, L, N]
  const key = g.op("Reshape", [
    g.op("Expand", [unsqueeze(g, Bt, [2]), g.constInt64([1, 1, d, N])]),
    g.constInt64([0, 0, d * N]),
  ]);
  const query = transpose(g, C, [0, 2, 1]); // one query head shared by the d KV heads
  const value = transpose(g, du, [0, 2, 1]); // [batch, L, d]
  const past = unsqueeze(g, h0, [3]); // [batch, d, N, 1]
  const [o, present] = g.opMulti(
    "LinearAttention",
    [query, key, value, past, decay],
    2,
    { update_rule: "gated", q_num_heads: 1, kv_num_heads: d, scale: new FloatAttr(1) },
    { domain: "com.microsoft" },
  );
  return {
    y: transpose(g, o, [0, 2, 1]),
    hT: g.op("Reshape", [present, g.constInt64([0, d, N])]),
  };
}
