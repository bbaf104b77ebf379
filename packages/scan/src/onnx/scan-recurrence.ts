/**
 * The selective scan with the standard Scan op (any ONNX runtime), in one of three schedules. The state runs
 * as [batch, N, d] inside (see recurrence.ts), transposed from and back to the API's [batch, d, N] once.
 */
import type { GraphBuilder } from "@cobra-ts/core";
import { transpose, unsqueeze } from "./common.js";
import { advance, discretize, readOut, readOutRow } from "./recurrence.js";

/**
 * Which work runs time-parallel and which per token (onnxruntime pays a fixed cost per node and step, which
 * dominates at small d; memory traffic dominates at large d):
 * - "after" (default): dA = exp(dt A) and dBx = dt B x up front for all tokens (time-major, so Scan walks
 *   axis 0 without transposing them); the body is only h_t = dA_t h_{t-1} + dBx_t (2 nodes); y = C . h from
 *   the stacked states after the Scan. dA, dBx and the states are L x batch x d x N floats each.
 * - "inside": dA, dBx up front; y in the body (4 nodes a step), so only [batch, d] a token is stacked.
 * - "per-token": the whole step in the body (7 nodes a step); nothing [L, batch, d, N]-sized exists.
 * Measured in the LM (onnxruntime-node 1.30, 1 thread, best of 8, shared 2-core box), prefill after / inside /
 * per-token: cobra-tiny (d_inner 32, 748 positions) 7.1 / 8.0 / 10.8 ms; d_model 768 x 4 layers (512
 * positions) 197 / 174 / 125 ms; d_model 2560 x 2 layers 536 / 519 / 443 ms; decode equal within noise.
 * Callers bound L (MambaLM runs long prefills in chunks of 512 positions).
 */
export type ScanSchedule = "after" | "inside" | "per-token";

/** Time-major operands: dt, x [L, batch, d]; B, C [L, batch, N]; A [d, N]; h0 [batch, d, N] (or [batch, N, d]). */
export interface TimeMajorScanInputs {
  dt: string;
  x: string;
  A: string;
  B: string;
  C: string;
  h0: string;
}

/**
 * Returns y [L, batch, d] (before the skip term and the gate) and the last state [batch, d, N]; with
 * `stateNMajor`, h0 and the last state are [batch, N, d] (the recurrence's own layout, no transposes).
 */
export function emitScanRecurrence(
  g: GraphBuilder,
  v: TimeMajorScanInputs,
  schedule: ScanSchedule = "after",
  stateNMajor = false,
): { y: string; hT: string } {
  // As recurrence.ts wants: dt, x, C [L, batch, 1, *]; B [L, batch, N, 1]; A [N, d]; h [batch, N, d].
  const [dt, x, C] = [v.dt, v.x, v.C].map((t) => unsqueeze(g, t, [2]));
  const B = unsqueeze(g, v.B, [3]);
  const A = transpose(g, v.A, [1, 0]);
  const h0 = stateNMajor ? v.h0 : transpose(g, v.h0, [0, 2, 1]);
  const stateOut = (h: string) => (stateNMajor ? h : transpose(g, h, [0, 2, 1]));
  const body = g.subgraph("selective_scan_step");
  // Body names come from the outer builder's counter (shared with the body): unique in both scopes.
  const bodyInput = (stem: string) => body.input(g.fresh(stem), "float32", null);
  const hPrev = bodyInput("h_prev");

  if (schedule === "per-token") {
    const [dtT, xT, bT, cT] = ["dt_t", "x_t", "B_t", "C_t"].map(bodyInput);
    const { dA, dBx } = discretize(body, dtT, A, bT, xT); // A: an outer-scope value
    const h = advance(body, dA, hPrev, dBx);
    body.output(h, "float32", null);
    body.output(readOutRow(body, h, cT), "float32", null);
    const [hT, rows] = g.opMulti("Scan", [h0, dt, x, B, C], 2, { body, num_scan_inputs: 4 });
    return { y: g.op("Squeeze", [rows, g.constInt64([2])]), hT: stateOut(hT) }; // [L, batch, 1, d] -> [L, batch, d]
  }

  const { dA, dBx } = discretize(g, dt, A, B, x);
  const [dAt, dBxt] = ["dA_t", "dBx_t"].map(bodyInput);
  const h = advance(body, dAt, hPrev, dBxt);
  body.output(h, "float32", null);
  if (schedule === "inside") {
    body.output(readOut(body, h, bodyInput("C_t")), "float32", null);
    const [hT, y] = g.opMulti("Scan", [h0, dA, dBx, C], 2, { body, num_scan_inputs: 3 });
    return { y, hT: stateOut(hT) };
  }
  body.output(body.op("Identity", [h]), "float32", null); // a scan output needs its own name
  const [hT, states] = g.opMulti("Scan", [h0, dA, dBx], 2, { body, num_scan_inputs: 2 });
  return { y: readOut(g, states, C), hT: stateOut(hT) };
}
