/**
 * A ScanKernel that runs the emitted ONNX graphs in onnxruntime (the backend's module: onnxruntime-node for
 * the default cpu in Node, onnxruntime-web for wasm). One session per op, shape and flag set, created on first use and kept until
 * dispose(). It exists to verify the emitters against the fixtures and to time them beside the other
 * kernels; inside a model, call the emit* functions on the model's own graph instead.
 * Limits of the emitters: B/C without groups; conv width >= 2.
 */
import {
  f32,
  GraphBuilder,
  InvalidArgumentError,
  type OpenedSession,
  openSession,
  type RuntimeChoice,
  serializeModel,
} from "@cobra-ts/core";
import { convDims, convUpdateDims, scanDims, updateDims } from "../shapes.js";
import type {
  CausalConv1dOptions,
  CausalConv1dResult,
  CausalConv1dUpdateOptions,
  F32Result,
  F32Tensor,
  ScanKernel,
  SelectiveScanOptions,
  SelectiveScanResult,
  SelectiveStateUpdateOptions,
} from "../types.js";
import { emitCausalConv1d, emitCausalConv1dUpdate } from "./causal-conv.js";
import type { ScanLayout } from "./scan-layout.js";
import type { ScanSchedule } from "./scan-recurrence.js";
import { emitSelectiveScan, emitSelectiveStateUpdate } from "./selective-scan.js";

export interface OnnxKernelOptions extends RuntimeChoice {
  /** "standard": Scan / Conv / elementwise ops; "contrib": com.microsoft LinearAttention, CausalConvWithState. */
  form?: "standard" | "contrib";
  /** onnxruntime intra-op threads (default: onnxruntime's). */
  threads?: number;
  /**
   * The layout the graph hands emitSelectiveScan (default "channels-first", the kernel's own). With
   * another the graph transposes u, delta, z, B, C and the output around it: to verify that path.
   */
  scanLayout?: ScanLayout;
  /** The standard form's schedule (see ScanSchedule). */
  scanSchedule?: ScanSchedule;
}

type Feeds = Record<string, F32Tensor | null | undefined>;

class OnnxKernel implements ScanKernel {
  readonly name: string;
  private readonly sessions = new Map<string, Promise<OpenedSession>>();

  constructor(private readonly options: OnnxKernelOptions) {
    this.name = `onnx-${options.form ?? "standard"}`;
  }

  private get contrib(): boolean {
    return this.options.form === "contrib";
  }

  /** Runs the graph `build` makes for these feeds (built and loaded once per key). */
  private async run(
    key: string,
    feeds: Feeds,
    build: (g: GraphBuilder, input: (name: string) => string | undefined) => Record<string, string>,
  ): Promise<Record<string, Float32Array>> {
    const present = Object.entries(feeds).filter((e): e is [string, F32Tensor] => e[1] != null);
    const fullKey = `${key}|${present.map(([k, t]) => `${k}:${t.shape.join("x")}`).join(",")}`;
    let session = this.sessions.get(fullKey);
    if (!session) {
      const g = new GraphBuilder(key);
      const names = new Map(present.map(([k, t]) => [k, g.input(k, "float32", [...t.shape])]));
      for (const [name, value] of Object.entries(build(g, (k) => names.get(k))))
        g.output(value, "float32", null, `${name}_out`);
      const model = serializeModel(g);
      const { backend, ort, threads } = this.options;
      session = openSession(model, { backend, ort, ...(threads ? { threads } : {}) });
      this.sessions.set(fullKey, session);
    }
    // Inputs are tensors of the session's own module.
    const { session: opened, ort } = await session;
    const result = await opened.run(
      Object.fromEntries(present.map(([k, t]) => [k, new ort.Tensor("float32", t.data, [...t.shape])])),
    );
    return Object.fromEntries(
      Object.entries(result).map(([k, v]) => [k.replace(/_out$/, ""), v.data as Float32Array]),
    );
  }

  async selectiveScan(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions = {},
  ): Promise<SelectiveScanResult> {
    const { batch, d, L, N, groups } = scanDims(u, delta, A, B, C, o);
    if (groups !== 1) throw new InvalidArgumentError("the ONNX emitters take B and C without groups");
    const sp = !!o.deltaSoftplus;
    const { scanLayout: layout = "channels-first", scanSchedule: schedule } = this.options;
    const r = await this.run(
      `scan sp${sp} ${layout} ${schedule}`,
      { u, delta, A, B, C, D: o.D, z: o.z, deltaBias: o.deltaBias, h0: o.initialState },
      (g, i) => {
        // [batch, X, L] -> the layout the emitter is to see, and its output back.
        const perm = { "channels-first": null, "channels-last": [0, 2, 1], "time-major": [2, 0, 1] }[layout];
        const back = { "channels-first": null, "channels-last": [0, 2, 1], "time-major": [1, 2, 0] }[layout];
        const to = (v: string) => (perm ? g.op("Transpose", [v], { perm }) : v);
        const req = (k: string) => to(i(k) as string);
        const z = i("z");
        const e = emitSelectiveScan(
          g,
          {
            u: req("u"),
            delta: req("delta"),
            A: i("A") as string,
            B: req("B"),
            C: req("C"),
            D: i("D"),
            z: z && to(z),
            deltaBias: i("deltaBias"),
            initialState: i("h0"),
          },
          { d, N, deltaSoftplus: sp, layout, schedule, via: this.contrib ? "linear-attention" : "scan" },
        );
        return { y: back ? g.op("Transpose", [e.out], { perm: back }) : e.out, h: e.lastState };
      },
    );
    return { out: f32([batch, d, L], r.y), lastState: f32([batch, d, N], r.h) };
  }

  async selectiveStateUpdate(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveStateUpdateOptions = {},
  ): Promise<F32Result> {
    const { batch, d, N, groups } = updateDims(state, x, dt, A, B, C, o);
    if (groups !== 1) throw new InvalidArgumentError("the ONNX emitters take B and C without groups");
    const sp = !!o.dtSoftplus;
    const r = await this.run(
      `state update sp${sp}`,
      { state, x, dt, A, B, C, D: o.D, z: o.z, dtBias: o.dtBias },
      (g, i) => {
        const req = (k: string) => i(k) as string;
        const e = emitSelectiveStateUpdate(
          g,
          {
            state: req("state"),
            x: req("x"),
            dt: req("dt"),
            A: req("A"),
            B: req("B"),
            C: req("C"),
            D: i("D"),
            z: i("z"),
            dtBias: i("dtBias"),
          },
          { d, N, dtSoftplus: sp, via: this.contrib ? "linear-attention" : "ops" },
        );
        return { y: e.out, s: e.state };
      },
    );
    state.data.set(r.s);
    return f32([batch, d], r.y);
  }

  async causalConv1d(
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dOptions = {},
  ): Promise<CausalConv1dResult> {
    const { batch, d, L, W } = convDims(x, weight, bias, o);
    const r = await this.run(`conv silu${!!o.silu}`, { x, weight, bias, init: o.initialState }, (g, i) => {
      const e = emitCausalConv1d(
        g,
        { x: i("x") as string, weight: i("weight") as string, bias: i("bias"), initialState: i("init") },
        { d, W, silu: o.silu, via: this.contrib ? "causal-conv-with-state" : "conv" },
      );
      return { y: e.out, s: e.finalState };
    });
    return { out: f32([batch, d, L], r.y), finalState: f32([batch, d, W - 1], r.s) };
  }

  async causalConv1dUpdate(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dUpdateOptions = {},
  ): Promise<F32Result> {
    const { batch, d, W } = convUpdateDims(convState, x, weight, bias);
    const r = await this.run(`conv update silu${!!o.silu}`, { convState, x, weight, bias }, (g, i) => {
      const e = emitCausalConv1dUpdate(
        g,
        {
          convState: i("convState") as string,
          x: i("x") as string,
          weight: i("weight") as string,
          bias: i("bias"),
        },
        { d, W, silu: o.silu, via: this.contrib ? "causal-conv-with-state" : "conv" },
      );
      return { y: e.out, s: e.convState };
    });
    convState.data.set(r.s);
    return f32([batch, d], r.y);
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.then((x) => x.session.release()).catch(() => {});
    this.sessions.clear();
  }
}

/** A ScanKernel running the ONNX emitters' graphs in onnxruntime (for verification and benchmarks). */
export function createOnnxKernel(options: OnnxKernelOptions = {}): ScanKernel {
  return new OnnxKernel(options);
}
