/**
 * The selective-scan recurrence as plain ONNX ops, split so that everything not depending on h_{t-1} can run
 * time-parallel: discretize (dA, dBx), then advance h, then read y out. Internally the state is [..., N, d]
 * (the API's [batch, d, N] transposed): every broadcast then repeats a d-long row (dt, x [..., 1, d] against
 * B [..., N, 1] and A transposed [N, d]), which onnxruntime runs in long vector spans, where [..., d, N]
 * would broadcast in d spans of N = 16 floats (measured: scans up to 1.8x slower at d 1536, L 512).
 * "..." is [batch] for one token or [L, batch] for a whole sequence.
 */
import type { GraphBuilder } from "@cobra-ts/core";

/**
 * dA = exp(dt A) and dBx = (dt B) x. The grouping is mamba_ssm's (einsum 'bdl,bnl,bdl->bdln' and
 * selective_state_update_ref both form dt B first), so float32 rounding follows the reference.
 */
export function discretize(
  g: GraphBuilder,
  dt: string,
  A: string,
  B: string,
  x: string,
): { dA: string; dBx: string } {
  return {
    dA: g.op("Exp", [g.op("Mul", [dt, A])]),
    dBx: g.op("Mul", [g.op("Mul", [dt, B]), x]),
  };
}

/** h_t = dA_t h_{t-1} + dBx_t */
export function advance(g: GraphBuilder, dA: string, h: string, dBx: string): string {
  return g.op("Add", [g.op("Mul", [dA, h]), dBx]);
}

/**
 * y = sum over n of C[..., n] h[..., n, :]: [..., 1, N] x [..., N, d] -> [..., d], as a MatMul. A ReduceSum
 * over the N axis would do, but onnxruntime picks its summation order by shape, so results then depend on
 * the batch size and on the schedule; one small GEMM per [N, d] matrix does not.
 */
export function readOut(g: GraphBuilder, h: string, C: string): string {
  return g.op("Squeeze", [readOutRow(g, h, C), g.constInt64([-2])]);
}

/** readOut without the Squeeze: [..., 1, d] (a Scan body saves one node per step; squeeze once after). */
export function readOutRow(g: GraphBuilder, h: string, C: string): string {
  return g.op("MatMul", [C, h]);
}
