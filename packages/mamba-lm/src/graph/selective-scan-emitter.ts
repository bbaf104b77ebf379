import type { GraphBuilder } from "@cobra-ts/core";

/**
 * Values (graph names) of one selective scan, in mamba_ssm's `selective_scan_ref` terms with a time-major-free
 * layout: B = batch, L = time, D = channels (d_inner), N = state size.
 */
export interface SelectiveScanValues {
  /** u, the scanned input, float32 [B, L, D]. */
  x: string;
  /** delta after softplus, float32 [B, L, D]. */
  dt: string;
  /** A = -exp(A_log), float32 [D, N]. */
  A: string;
  /** float32 [B, L, N]. */
  B: string;
  /** float32 [B, L, N]. */
  C: string;
  /** Skip term, float32 [D]: y += D * x. */
  D?: string;
  /** Gate, float32 [B, L, D]: y *= silu(z). */
  z?: string;
  /** h_0, float32 [B, D, N]. */
  state: string;
}

export interface SelectiveScanOptions {
  /**
   * Where y_t = sum_n h_t * C_t is computed. "after" (default): the Scan body is just h = dA * h + dBx and y is
   * one ReduceSum over the stacked states (L * B * D * N floats, like dA and dBx). "inside": in the body, so
   * only [B, D] per step is stacked, but each step runs 5 nodes instead of 2. Measured (onnxruntime-node 1.30,
   * 1 thread, shared 2-core box, best of 6-8): cobra-tiny prefill of 748 positions 10.0-10.7 vs 11.6-11.7 ms,
   * decode 0.18 vs 0.17-0.31 ms/token (noise); equal at d_model 768 where the matmuls dominate. Callers bound
   * L (MambaLM runs long prefills in chunks of 512 positions).
   */
  output?: "inside" | "after";
}

/**
 * Emits a selective scan into `g`: everything that does not depend on h_{t-1} is computed time-parallel up
 * front (dA = exp(dt * A), dBx = dt * B * x, both [L, B, D, N], time-major so Scan iterates axis 0 without a
 * transpose of the big tensors), and only the recurrence h_t = dA_t * h_{t-1} + dBx_t runs in an ONNX Scan.
 * Products are grouped like mamba_ssm (dt * B first, then * x) so fp32 rounding matches the reference.
 *
 * Belongs in @cobra-ts/scan with its other ONNX emitters; kept here with this small signature until then.
 */
export function emitSelectiveScan(
  g: GraphBuilder,
  v: SelectiveScanValues,
  options: SelectiveScanOptions = {},
): { y: string; stateOut: string } {
  const timeMajor = (value: string) => g.op("Transpose", [value], { perm: [1, 0, 2] }); // [B, L, *] -> [L, B, *]
  const unsqueeze = (value: string, axis: number) => g.op("Unsqueeze", [value, g.constInt64([axis])]);
  const dt4 = unsqueeze(timeMajor(v.dt), 3); // [L, B, D, 1]
  const dA = g.op("Exp", [g.op("Mul", [dt4, v.A])]); // [L, B, D, N]
  const b4 = unsqueeze(timeMajor(v.B), 2); // [L, B, 1, N]
  const x4 = unsqueeze(timeMajor(v.x), 3); // [L, B, D, 1]
  const dBx = g.op("Mul", [g.op("Mul", [dt4, b4]), x4]); // [L, B, D, N]
  const cT = timeMajor(v.C); // [L, B, N]

  const inside = options.output === "inside";
  const body = g.subgraph("selective_scan_step");
  // Body value names come from the outer builder: its counter is shared, so they never collide anywhere.
  const hPrev = body.input(g.fresh("h_prev"), "float32", null);
  const dAt = body.input(g.fresh("dA_t"), "float32", null);
  const dBxt = body.input(g.fresh("dBx_t"), "float32", null);
  const ct = inside ? body.input(g.fresh("C_t"), "float32", null) : null;
  const h = body.op("Add", [body.op("Mul", [dAt, hPrev]), dBxt]);
  body.output(h, "float32", null, g.fresh("h_next"));
  if (ct) {
    const yt = body.op(
      "ReduceSum",
      [body.op("Mul", [h, body.op("Unsqueeze", [ct, body.constInt64([1])])]), body.constInt64([-1])],
      { keepdims: 0 },
    );
    body.output(yt, "float32", null, g.fresh("y_t"));
  } else {
    body.output(body.op("Identity", [h]), "float32", null, g.fresh("h_t"));
  }
  const [stateOut, scanned] = g.opMulti("Scan", ct ? [v.state, dA, dBx, cT] : [v.state, dA, dBx], 2, {
    body,
    num_scan_inputs: ct ? 3 : 2,
  });
  // [L, B, D] either way; "after" reduces the stacked [L, B, D, N] states against C.
  const yTime = inside
    ? scanned
    : g.op("ReduceSum", [g.op("Mul", [scanned, unsqueeze(cT, 2)]), g.constInt64([-1])], { keepdims: 0 });
  let y = g.op("Transpose", [yTime], { perm: [1, 0, 2] }); // [B, L, D]
  if (v.D) y = g.op("Add", [y, g.op("Mul", [v.x, v.D])]);
  if (v.z) y = g.op("Mul", [y, g.op("Mul", [v.z, g.op("Sigmoid", [v.z])])]);
  return { y, stateOut };
}

/** torch.nn.functional.softplus's default threshold: above it softplus(x) is x. */
const SOFTPLUS_THRESHOLD = 20;

/**
 * softplus as torch computes delta (threshold 20: x > 20 -> x). ONNX Softplus has no threshold; Where picks x
 * there (Softplus's own value, possibly inf for huge x, is discarded, so no NaN can leak through).
 */
export function emitDeltaSoftplus(g: GraphBuilder, x: string): string {
  return g.op("Where", [
    g.op("Greater", [x, g.constFloat([SOFTPLUS_THRESHOLD], [])]),
    x,
    g.op("Softplus", [x]),
  ]);
}
