import { FloatAttr, type GraphBuilder } from "@cobra-ts/core";

/** mamba_ssm rms_norm_ref in fp32: x * (1 / sqrt(mean(x^2) + eps)) * w, in that order. */
export function emitRmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const meanSquare = g.op("ReduceMean", [g.op("Mul", [x, x])], { axes: [-1], keepdims: 1 });
  const rstd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [meanSquare, g.constFloat([eps], [])])])]);
  return g.op("Mul", [g.op("Mul", [x, rstd]), weight]);
}

/** The `rms_norm: false` variant of mamba_ssm: LayerNorm with bias over the last axis. */
export function emitLayerNorm(g: GraphBuilder, x: string, weight: string, bias: string, eps: number): string {
  return g.op("LayerNormalization", [x, weight, bias], { axis: -1, epsilon: new FloatAttr(eps) });
}
