import { emitMatMulNBits, type GraphBuilder, InvalidArgumentError, onnxDataType } from "@cobra-ts/core";
import { emitCausalConv1d, emitSelectiveScan, type ScanSchedule } from "@cobra-ts/scan";
import type { MambaConfig } from "../config/mamba-config.js";
import { EMBEDDING, LM_HEAD, NORM_F } from "../weights/mamba-weights.js";
import {
  ALL_LOGITS,
  convStateIn,
  convStateOut,
  INPUTS_EMBEDS,
  LOGITS,
  ssmStateIn,
  ssmStateOut,
} from "./io-names.js";
import type { LmBlockQuantization, LmQuantization } from "./lm-quantization.js";
import { emitLayerNorm, emitRmsNorm } from "./norms.js";
import { runtimeName } from "./runtime-tensors.js";
import { type ScanRegion, type ScanRegions, TIME_MAJOR_SCAN } from "./scan-regions.js";

export interface MambaGraphOptions {
  /**
   * Which logits the graph returns: "last" (default; `logits` [batch, vocab] at the last position, what
   * generation needs), "all" (`all_logits` [batch, positions, vocab]: scoring, tests) or "both".
   */
  logits?: "last" | "all" | "both";
  /**
   * How the Scan splits the scan's work (see @cobra-ts/scan's ScanSchedule); default "per-token": no
   * [positions, d_inner, d_state] temporaries, 1.3x faster prefill at Mamba-1.4B than "after", decode alike.
   */
  scanOutput?: ScanSchedule;
  /** Block-quantized (MatMulNBits) or float16 projections and head; fp32 when absent or null. */
  quantization?: LmQuantization | null;
}

/**
 * Emits the whole Mamba LM into `g`: one graph for prefill and decode. Inputs: `inputs_embeds`
 * [batch, positions, d_model] (positions >= 1: the embedded tokens, after any prefix rows such as Cobra's
 * image rows; the embedding lookup happens outside the graph, see EmbeddingTable) and per layer
 * `conv_state.{i}` [batch, d_inner, d_conv - 1] (the last inputs of the causal conv) and `ssm_state.{i}`
 * [batch, d_state, d_inner] (mamba_ssm's [batch, d_inner, d_state] transposed: the scan's own layout). Outputs: logits (see MambaGraphOptions) and `conv_state_out.{i}`,
 * `ssm_state_out.{i}`. Initializers are expected under the names of `runtimeTensors(config)`; the embedding
 * is one of them (the lookup reads it from the model's data, and the tied head uses it).
 * The residual stream is fp32 throughout; with `quantization`, the projections and the head read
 * block-quantized weights (MatMulNBits, which dequantizes on the fly) or float16 ones (Cast to fp32).
 * Returns where each layer's scan starts and ends in the graph, so a runtime can run the scans elsewhere.
 */
export function emitMambaLM(
  g: GraphBuilder,
  config: MambaConfig,
  options: MambaGraphOptions = {},
): ScanRegions {
  const layers: ScanRegion[] = [];
  const { dModel: d, dInner: di, dState: n, dConv: k, vocabSizePadded: v } = config;
  const embeds = g.input(INPUTS_EMBEDS, "float32", ["batch", "positions", d]);
  // The residual stream runs time-major, [L, B, d]: the projections do not mind, and the Scan walks axis 0,
  // so its inputs need no transposes (5 fewer nodes a layer than [B, L, d]; node count is much of a decode
  // step's cost).
  let residual = g.op("Transpose", [embeds], { perm: [1, 0, 2] });

  const norm = (x: string, prefixName: string) =>
    config.rmsNorm
      ? emitRmsNorm(g, x, `${prefixName}.weight`, config.normEps)
      : emitLayerNorm(g, x, `${prefixName}.weight`, `${prefixName}.bias`, config.normEps);

  for (let i = 0; i < config.nLayer; i++) {
    const convIn = g.input(convStateIn(i), "float32", ["batch", di, k - 1]);
    const ssmIn = g.input(ssmStateIn(i), "float32", ["batch", n, di]);
    const hidden = emitMixer(g, config, i, norm(residual, `layers.${i}.norm`), convIn, ssmIn, options);
    layers.push(hidden.scan);
    g.output(convStateOut(i), "float32", ["batch", di, k - 1]);
    g.output(hidden.ssmState, "float32", ["batch", n, di], ssmStateOut(i));
    residual = g.op("Add", [hidden.out, residual]); // mamba_ssm: residual = hidden_states + residual
  }

  const q = options.quantization;
  const headName = config.tieEmbeddings ? EMBEDDING : LM_HEAD;
  // One Cast of an fp16 head, however many products read it (each Cast is folded into its own fp32 copy).
  const head = q?.method === "float16" ? widen(g, headName) : headName;
  const wanted = options.logits ?? "last";
  if (wanted !== "all") {
    const last = g.op("Gather", [residual, g.constInt64([-1], [])], { axis: 0 }); // [B, d]
    const normed = norm(last, NORM_F);
    if (q?.method === "matmul-nbits")
      emitBlockMatMul(g, normed, headName, { K: config.dModel, N: v }, { ...q, bits: q.headBits }, LOGITS);
    else g.op("Gemm", [normed, head], { transB: 1 }, { name: LOGITS });
    g.output(LOGITS, "float32", ["batch", v]);
  }
  if (wanted !== "last") {
    if (q?.method === "matmul-nbits")
      throw new InvalidArgumentError('a quantized LM graph returns the last logits only (logits: "last")');
    const batchMajor = g.op("Transpose", [residual], { perm: [1, 0, 2] }); // [B, L, d]
    const flat = g.op("Reshape", [norm(batchMajor, NORM_F), g.constInt64([-1, d])]);
    const batchAndTime = g.op("Slice", [g.op("Shape", [batchMajor]), g.constInt64([0]), g.constInt64([2])]);
    const shape = g.op("Concat", [batchAndTime, g.constInt64([v])], { axis: 0 });
    g.op("Reshape", [g.op("Gemm", [flat, head], { transB: 1 }), shape], {}, { name: ALL_LOGITS });
    g.output(ALL_LOGITS, "float32", ["batch", "positions", v]);
  }
  return { ...TIME_MAJOR_SCAN, layers };
}

/** A float16 initializer as fp32 (onnxruntime folds the Cast once at load). */
function widen(g: GraphBuilder, initializer: string): string {
  return g.op("Cast", [initializer], { to: onnxDataType("float32") });
}

/**
 * MatMulNBits on fp32 `x`; with floatType float16 (q4f16) the product runs in float16 between two Casts, so
 * the rest of the graph stays fp32.
 */
function emitBlockMatMul(
  g: GraphBuilder,
  x: string,
  weight: string,
  dims: { K: number; N: number },
  q: LmBlockQuantization,
  name?: string,
): string {
  if (q.floatType !== "float16") return emitMatMulNBits(g, x, weight, dims, q, name);
  const half = g.op("Cast", [x], { to: onnxDataType("float16") });
  return g.op("Cast", [emitMatMulNBits(g, half, weight, dims, q)], { to: onnxDataType("float32") }, { name });
}

/** One Mamba mixer (mamba_ssm `Mamba.forward` / `Mamba.step`, the same math for any length). */
function emitMixer(
  g: GraphBuilder,
  config: MambaConfig,
  layer: number,
  h: string,
  convIn: string,
  ssmIn: string,
  options: MambaGraphOptions,
): { out: string; ssmState: string; scan: ScanRegion } {
  const { dInner: di, dState: n, dConv: k, dtRank: r } = config;
  const p = `layers.${layer}.mixer`;
  const shapes = {
    in_proj: [2 * di, config.dModel],
    x_proj: [r + 2 * n, di],
    dt_proj: [di, r],
    out_proj: [config.dModel, di],
  };
  const q = options.quantization;
  const linear = (x: string, name: keyof typeof shapes, bias: boolean) => {
    const weight = `${p}.${name}.weight`;
    const [outDim, inDim] = shapes[name];
    const y =
      q?.method === "matmul-nbits"
        ? emitBlockMatMul(g, x, weight, { K: inDim, N: outDim }, q)
        : g.op("MatMul", [x, q?.method === "float16" ? widen(g, runtimeName(weight)) : runtimeName(weight)]);
    return bias ? g.op("Add", [y, `${p}.${name}.bias`]) : y;
  };

  const xz = linear(h, "in_proj", config.bias); // [L, B, 2 d_inner]
  const [x, z] = g.opMulti("Split", [xz, g.constInt64([di, di])], 2, { axis: -1 });

  // causal_conv1d_fn(x, conv1d.weight, conv1d.bias, initial_states, activation="silu"), carrying the last
  // d_conv - 1 inputs as the next state.
  const conv = emitCausalConv1d(
    g,
    {
      x: g.op("Transpose", [x], { perm: [1, 2, 0] }), // [B, di, L]
      weight: g.op("Reshape", [`${p}.conv1d.weight`, g.constInt64([di, k])]), // stored [di, 1, k]
      bias: config.convBias ? `${p}.conv1d.bias` : undefined,
      initialState: convIn,
    },
    // onnxruntime's CausalConvWithState (CPU and WASM): one node, where a depthwise Conv takes onnxruntime's
    // generic grouped path (~170 us a layer for one decode step at d_inner 4096).
    { d: di, W: k, silu: true, via: "causal-conv-with-state" },
  );
  g.op("Identity", [conv.finalState], {}, { name: convStateOut(layer) });
  const xc = g.op("Transpose", [conv.out], { perm: [2, 0, 1] }); // [L, B, di]

  const xdbl = linear(xc, "x_proj", false); // [L, B, r + 2N]
  const [dtLow, bm, cm] = g.opMulti("Split", [xdbl, g.constInt64([r, n, n])], 3, { axis: -1 });
  const A = g.op("Neg", [g.op("Exp", [`${p}.A_log`])]);

  // mamba_ssm's selective_scan_fn(x, dt, A, B, C, D, z, delta_bias=dt_proj.bias, delta_softplus=True), on the
  // projections' [L, B, *] tensors as they are.
  const inputs = {
    u: xc,
    delta: linear(dtLow, "dt_proj", false),
    A,
    B: bm,
    C: cm,
    D: `${p}.D`,
    z,
    deltaBias: `${p}.dt_proj.bias`,
    initialState: ssmIn,
  };
  const scan = emitSelectiveScan(
    g,
    inputs,
    // The state stays [batch, N, d_inner], the Scan's own layout (see MambaState).
    { d: di, N: n, ...TIME_MAJOR_SCAN, schedule: options.scanOutput },
  );
  return {
    out: linear(scan.out, "out_proj", config.bias),
    ssmState: scan.lastState,
    scan: { ...inputs, out: scan.out, lastState: scan.lastState },
  };
}
