/**
 * The selective scan as onnxruntime's com.microsoft LinearAttention (onnxruntime >= 1.30, CPU / CUDA /
 * WebGPU kernels), update_rule "gated" with per-key decay. The mapping is exact: each channel c is a KV head
 * with d_k = N (the states) and d_v = 1, and one query head (C_t) is shared by all of them:
 *   S_t = exp(g_t) * S_{t-1} + k_t v_t^T,  o_t = scale q_t^T S_t
 * with g_t = dt_t A[c, :], k_t = B_t, v_t = dt_t u_t, q_t = C_t, scale 1, S = h[c, :] as [N, 1].
 * Its key and decay inputs are [batch, L, d N]: fine for decoding, memory-hungry for long prefills.
 */
import { FloatAttr, type GraphBuilder } from "@cobra-ts/core";
import { unsqueeze } from "./common.js";

/** Channels-last operands: dt, x [batch, L, d]; B, C [batch, L, N]; A [d, N]; h0 [batch, d, N]. */
export interface ChannelsLastScanInputs {
  dt: string;
  x: string;
  A: string;
  B: string;
  C: string;
  h0: string;
}

/** Returns y [batch, L, d] (before the skip term and the gate) and the last state [batch, d, N]. */
export function emitLinearAttentionScan(
  g: GraphBuilder,
  v: ChannelsLastScanInputs,
  d: number,
  N: number,
): { y: string; hT: string } {
  const flatHeads = (t: string) => g.op("Reshape", [t, g.constInt64([0, 0, d * N])]); // [b, L, d, N] -> [b, L, d N]
  const decay = flatHeads(g.op("Mul", [unsqueeze(g, v.dt, [3]), v.A])); // dt[b, t, c] * A[c, n]
  const key = flatHeads(g.op("Expand", [unsqueeze(g, v.B, [2]), g.constInt64([1, 1, d, N])]));
  const value = g.op("Mul", [v.dt, v.x]);
  const past = unsqueeze(g, v.h0, [3]); // [batch, d, N, 1]
  const [y, present] = g.opMulti(
    "LinearAttention",
    [v.C, key, value, past, decay],
    2,
    { update_rule: "gated", q_num_heads: 1, kv_num_heads: d, scale: new FloatAttr(1) },
    { domain: "com.microsoft" },
  );
  return { y, hT: g.op("Reshape", [present, g.constInt64([0, d, N])]) };
}
