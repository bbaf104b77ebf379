import type { GraphBuilder } from "@cobra-ts/core";

/**
 * torch's softplus (threshold 20) as max(x, 0) + log1p(exp(-|x|)), accurate on any runtime. Not the Softplus
 * op: ONNX defines it as log(exp(x) + 1), and a runtime computing it so loses ~1e-5 relative for x around -5
 * (Mamba's dt range) to the rounding of 1 + exp(x), which misses the fixtures (onnxruntime 1.30's CPU kernel
 * happens to be accurate; other runtimes and execution providers need not be). ONNX has no Log1p: with
 * w = fl(1 + y) and u = w - 1 (exact), log1p(y) = log(w) + (y - u) / w to float32 rounding, and y itself
 * where w rounds to 1 (no guard node). torch's threshold needs no node either: above 16,
 * x + log1p(exp(-x)) already rounds to x. 11 nodes; it runs once per layer and token when decoding.
 */
export function softplusTorch(g: GraphBuilder, x: string): string {
  const one = g.constFloat([1], []);
  const y = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])]);
  const w = g.op("Add", [one, y]);
  const lost = g.op("Sub", [y, g.op("Sub", [w, one])]); // what rounding 1 + y dropped
  const log1p = g.op("Add", [g.op("Log", [w]), g.op("Div", [lost, w])]);
  return g.op("Add", [g.op("Relu", [x]), log1p]);
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

/** Zeros of shape [dim `batchAxis` of `like`, ...rest] (a batch-sized initial state). */
export function batchZeros(g: GraphBuilder, like: string, rest: number[], batchAxis = 0): string {
  const batch = g.op("Shape", [like], { start: batchAxis, end: batchAxis + 1 });
  const shape = g.op("Concat", [batch, g.constInt64(rest)], {
    axis: 0,
  });
  return g.op("ConstantOfShape", [shape]);
}
