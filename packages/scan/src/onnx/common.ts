import type { GraphBuilder } from "@cobra-ts/core";

/**
 * torch softplus (identity above 20) as max(x, 0) + log1p(exp(-|x|)). Not the Softplus op: onnxruntime's
 * computes log(exp(x) + 1), whose rounding of 1 + exp(x) costs ~1e-5 relative for x around -5 (Mamba's dt
 * range) and misses the fixtures. ONNX has no Log1p: log1p(y) = y log(w) / (w - 1) with w = 1 + y
 * (Goldberg's correction for the rounding of w; y itself where w rounds to 1).
 */
export function softplusTorch(g: GraphBuilder, x: string): string {
  const one = g.constFloat([1], []);
  const y = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])]);
  const w = g.op("Add", [one, y]);
  const ratio = g.op("Div", [g.op("Log", [w]), g.op("Sub", [w, one])]);
  const log1p = g.op("Where", [g.op("Equal", [w, one]), y, g.op("Mul", [y, ratio])]);
  const sp = g.op("Add", [g.op("Relu", [x]), log1p]);
  return g.op("Where", [g.op("Greater", [x, g.constFloat([20], [])]), x, sp]);
}

/** x * sigmoid(x) */
export function silu(g: GraphBuilder, x: string): string {
  return g.op("Mul", [x, g.op("Sigmoid", [x])]);
}

export function unsqueeze(g: GraphBuilder, x: string, axes: number[]): string {
  return g.op("Unsqueeze", [x, g.constInt64(axes)]);
}

export function transpose(g: GraphBuilder, x: string, perm: number[]): string {
  return g.op("Transpose", [x], { perm });
}

/**
 * dt = delta + bias (per channel, [d] broadcast over the last axis after `channelAxisFromEnd` axes), then
 * torch's softplus when asked. `delta` is [batch, d, L] (scan) or [batch, d] (state update).
 */
export function prepareDt(
  g: GraphBuilder,
  delta: string,
  bias: string | undefined,
  softplus: boolean,
  rank: 2 | 3,
): string {
  let dt = delta;
  if (bias) dt = g.op("Add", [dt, rank === 3 ? unsqueeze(g, bias, [1]) : bias]);
  return softplus ? softplusTorch(g, dt) : dt;
}

/** y + D u (D per channel), then y * silu(z). Shapes as `prepareDt`. */
export function skipAndGate(
  g: GraphBuilder,
  y: string,
  u: string,
  D: string | undefined,
  z: string | undefined,
  rank: 2 | 3,
): string {
  if (D) y = g.op("Add", [y, g.op("Mul", [u, rank === 3 ? unsqueeze(g, D, [1]) : D])]);
  if (z) y = g.op("Mul", [y, silu(g, z)]);
  return y;
}

/** Zeros of shape [dim 0 of `like`, ...rest] (a batch-sized initial state). */
export function zerosLike0(g: GraphBuilder, like: string, rest: number[]): string {
  const shape = g.op("Concat", [g.op("Shape", [like], { start: 0, end: 1 }), g.constInt64(rest)], {
    axis: 0,
  });
  return g.op("ConstantOfShape", [shape]);
}
