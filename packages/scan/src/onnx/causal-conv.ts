/**
 * ONNX emitters for causal_conv1d_ref and causal_conv1d_update_ref, in two forms:
 * - "conv": standard ops (Concat the initial state or zeros, depthwise Conv with group = d, and the last W-1
 *   inputs as the final state; the update is a roll and a weighted sum).
 * - "causal-conv-with-state": onnxruntime's com.microsoft CausalConvWithState (onnxruntime >= 1.30), which
 *   is exactly this op: past_state = initial_states, present_state = final_states, activation silu/none.
 *   The update is the same op on one token, with past_state = conv_state[..., 1:].
 */
import { type GraphBuilder, InvalidArgumentError } from "@cobra-ts/core";
import { batchZeros, silu, unsqueeze } from "./common.js";

export interface OnnxConvInputs {
  /** [batch, d, L] */
  x: string;
  /** [d, W] */
  weight: string;
  bias?: string;
  /** [batch, d, W-1] */
  initialState?: string;
}

export interface OnnxConvConfig {
  d: number;
  W: number;
  silu?: boolean;
  /** Default "conv". */
  via?: "conv" | "causal-conv-with-state";
}

export interface OnnxConvUpdateInputs {
  /** [batch, d, W] */
  convState: string;
  /** [batch, d] */
  x: string;
  weight: string;
  bias?: string;
}

/** Emits causal_conv1d_ref; returns out [batch, d, L] and finalState [batch, d, W-1] (W >= 2). */
export function emitCausalConv1d(
  g: GraphBuilder,
  x: OnnxConvInputs,
  cfg: OnnxConvConfig,
): { out: string; finalState: string } {
  const { d, W } = cfg;
  checkWidth(W);
  const w3 = unsqueeze(g, x.weight, [1]); // [d, 1, W] as Conv wants
  if (cfg.via === "causal-conv-with-state") {
    const inputs = [x.x, w3, x.bias ?? "", x.initialState ?? ""];
    while (inputs[inputs.length - 1] === "") inputs.pop();
    const [out, finalState] = g.opMulti(
      "CausalConvWithState",
      inputs,
      2,
      { activation: cfg.silu ? "silu" : "none" },
      { domain: "com.microsoft" },
    );
    return { out, finalState };
  }
  const past = x.initialState ?? batchZeros(g, x.x, [d, W - 1]);
  const padded = g.op("Concat", [past, x.x], { axis: 2 }); // [batch, d, W-1+L]
  const convInputs = x.bias ? [padded, w3, x.bias] : [padded, w3];
  const conv = g.op("Conv", convInputs, { group: d, kernel_shape: [W] });
  const finalState = g.op("Slice", [
    padded,
    g.constInt64([-(W - 1)]),
    g.constInt64([2 ** 53]),
    g.constInt64([2]),
  ]);
  return { out: cfg.silu ? silu(g, conv) : conv, finalState };
}

/** Emits causal_conv1d_update_ref; returns out [batch, d] and the rolled convState [batch, d, W]. */
export function emitCausalConv1dUpdate(
  g: GraphBuilder,
  x: OnnxConvUpdateInputs,
  cfg: OnnxConvConfig,
): { out: string; convState: string } {
  checkWidth(cfg.W);
  const last = (from: number, to: number) =>
    g.op("Slice", [x.convState, g.constInt64([from]), g.constInt64([to]), g.constInt64([2])]);
  const x3 = unsqueeze(g, x.x, [2]); // [batch, d, 1]
  if (cfg.via === "causal-conv-with-state") {
    const w3 = unsqueeze(g, x.weight, [1]);
    const past = last(1, cfg.W); // the oldest column drops out of the window
    const [out3, present] = g.opMulti(
      "CausalConvWithState",
      [x3, w3, x.bias ?? "", past],
      2,
      { activation: cfg.silu ? "silu" : "none" },
      { domain: "com.microsoft" },
    );
    // New window = [convState[..., 1], present] = convState[..., 1:] then x.
    const convState = g.op("Concat", [last(1, 2), present], { axis: 2 });
    return { out: g.op("Squeeze", [out3, g.constInt64([2])]), convState };
  }
  const convState = g.op("Concat", [last(1, cfg.W), x3], { axis: 2 });
  let out = g.op("ReduceSum", [g.op("Mul", [convState, x.weight]), g.constInt64([2])], { keepdims: 0 });
  if (x.bias) out = g.op("Add", [out, x.bias]);
  return { out: cfg.silu ? silu(g, out) : out, convState };
}

function checkWidth(W: number): void {
  if (!Number.isInteger(W) || W < 2)
    throw new InvalidArgumentError(`the ONNX conv emitters need a kernel width >= 2, got ${W}`);
}
