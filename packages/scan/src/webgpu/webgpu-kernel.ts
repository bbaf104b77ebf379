/**
 * The WebGPU kernels (WGSL in shaders.ts). Two ways to use them:
 * - as a ScanKernel (Float32Array in, Float32Array out: upload, dispatch, read back);
 * - on the GPU with the caller's device and buffers: `encode*` record a dispatch into the caller's command
 *   encoder, so a whole model can stay on the GPU. Buffers need STORAGE usage; layouts as in ScanKernel.
 * Accuracy: float32 with the wasm kernel's polynomial exp (relative error <= 2e-7 for |x| < 10), not WGSL's exp.
 */
import { CobraError, f32, InvalidArgumentError } from "@cobra-ts/core";
import {
  type ConvDims,
  convDims,
  convUpdateDims,
  type ScanDims,
  scanDims,
  type UpdateDims,
  updateDims,
} from "../shapes.js";
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
import {
  BufferUsage,
  type GpuBuffer,
  type GpuCommandEncoder,
  type GpuComputePipeline,
  type GpuDevice,
  MAP_READ,
  navigatorGpu,
} from "./gpu-types.js";
import {
  CONV_SHADER,
  CONV_UPDATE_SHADER,
  FLAG,
  scanShader,
  stateUpdateShader,
  WORKGROUP,
} from "./shaders.js";

/** Storage buffers the scan and state-update shaders bind (WebGPU's default limit is 8). */
export const REQUIRED_STORAGE_BUFFERS = 10;

/** The caller's buffers for `encodeSelectiveScan`. */
export interface GpuScanBuffers {
  u: GpuBuffer;
  delta: GpuBuffer;
  A: GpuBuffer;
  B: GpuBuffer;
  C: GpuBuffer;
  D?: GpuBuffer;
  z?: GpuBuffer;
  deltaBias?: GpuBuffer;
  /** [batch, d, N]: read as the initial state when `hasInitialState`, then overwritten with the last state. */
  state: GpuBuffer;
  /** [batch, d, L] */
  out: GpuBuffer;
}

export interface GpuStateUpdateBuffers {
  /** [batch, d, N], updated in place. */
  state: GpuBuffer;
  x: GpuBuffer;
  dt: GpuBuffer;
  A: GpuBuffer;
  B: GpuBuffer;
  C: GpuBuffer;
  D?: GpuBuffer;
  z?: GpuBuffer;
  dtBias?: GpuBuffer;
  /** [batch, d] */
  out: GpuBuffer;
}

export interface GpuConvBuffers {
  x: GpuBuffer;
  weight: GpuBuffer;
  bias?: GpuBuffer;
  initialState?: GpuBuffer;
  out: GpuBuffer;
  /** [batch, d, W-1] (unused when W = 1). */
  finalState: GpuBuffer;
}

export interface GpuConvUpdateBuffers {
  /** [batch, d, W], rolled in place. */
  convState: GpuBuffer;
  x: GpuBuffer;
  weight: GpuBuffer;
  bias?: GpuBuffer;
  out: GpuBuffer;
}

export interface WebGpuKernelOptions {
  /** Use this device (it must allow 10 storage buffers per shader stage). Default: a new device. */
  device?: GpuDevice;
  powerPreference?: "low-power" | "high-performance";
}

/** Whether this JavaScript runtime exposes WebGPU (navigator.gpu). */
export function webgpuAvailable(): boolean {
  return navigatorGpu() !== undefined;
}

const STORAGE_IO = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;

export class WebGpuScanKernel implements ScanKernel {
  readonly name = "webgpu";
  private readonly pipelines = new Map<string, Promise<GpuComputePipeline>>();
  private readonly dummy: GpuBuffer;
  private disposed = false;

  private constructor(
    readonly device: GpuDevice,
    private readonly ownsDevice: boolean,
    /** The adapter, in words ("google swiftshader", ...), when this kernel created the device. */
    readonly adapterDescription: string,
  ) {
    this.dummy = device.createBuffer({ size: 16, usage: BufferUsage.STORAGE, label: "scan: absent input" });
  }

  static async create(options: WebGpuKernelOptions = {}): Promise<WebGpuScanKernel> {
    if (options.device) {
      if (options.device.limits.maxStorageBuffersPerShaderStage < REQUIRED_STORAGE_BUFFERS)
        throw new InvalidArgumentError(
          `the WebGPU scan kernels bind ${REQUIRED_STORAGE_BUFFERS} storage buffers per stage: create the device with requiredLimits: { maxStorageBuffersPerShaderStage: ${REQUIRED_STORAGE_BUFFERS} }`,
        );
      return new WebGpuScanKernel(options.device, false, "caller's device");
    }
    const gpu = navigatorGpu();
    if (!gpu) throw new CobraError("WebGPU is not available here (no navigator.gpu)");
    const adapter = await gpu.requestAdapter({
      powerPreference: options.powerPreference ?? "high-performance",
    });
    if (!adapter)
      throw new CobraError("WebGPU is present but navigator.gpu.requestAdapter() returned no adapter");
    if (adapter.limits.maxStorageBuffersPerShaderStage < REQUIRED_STORAGE_BUFFERS)
      throw new CobraError(
        `this GPU allows ${adapter.limits.maxStorageBuffersPerShaderStage} storage buffers per shader stage; the scan kernels need ${REQUIRED_STORAGE_BUFFERS}`,
      );
    const device = await adapter.requestDevice({
      label: "cobra-ts scan",
      requiredLimits: {
        maxStorageBuffersPerShaderStage: REQUIRED_STORAGE_BUFFERS,
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      },
    });
    const info = adapter.info;
    const description = info
      ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")
      : "";
    return new WebGpuScanKernel(device, true, description || "unknown adapter");
  }

  private pipeline(key: string, code: () => string): Promise<GpuComputePipeline> {
    let p = this.pipelines.get(key);
    if (!p) {
      p = (async () => {
        const module = this.device.createShaderModule({ code: code(), label: `scan ${key}` });
        const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
        if (errors.length)
          throw new CobraError(
            `WGSL ${key}: ${errors.map((e) => `line ${e.lineNum}: ${e.message}`).join("; ")}`,
          );
        return this.device.createComputePipelineAsync({
          layout: "auto",
          compute: { module, entryPoint: "main" },
          label: key,
        });
      })();
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** A fresh uniform with the 8 u32 parameters (fresh: several encodes may be in one command buffer). */
  private params(values: number[]): GpuBuffer {
    const buf = this.device.createBuffer({ size: 32, usage: BufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buf.getMappedRange()).set(values);
    buf.unmap();
    return buf;
  }

  /** Workgroup grid for `groups` workgroups: x up to 65535, then rows of y. */
  private grid(groups: number): [number, number] {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.max(1, Math.min(groups, max));
    return [x, Math.ceil(groups / x)];
  }

  private dispatch(
    encoder: GpuCommandEncoder,
    pipeline: GpuComputePipeline,
    params: number[],
    buffers: (GpuBuffer | undefined)[],
    grid: [number, number],
  ): void {
    const uniform = this.params(params);
    const group = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [uniform, ...buffers].map((b, i) => ({ binding: i, resource: { buffer: b ?? this.dummy } })),
    });
    const pass = encoder.beginComputePass({ label: "cobra-ts scan" });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(grid[0], grid[1]);
    pass.end();
  }

  /** Records a selective scan into `encoder` (the caller submits). */
  async encodeSelectiveScan(
    encoder: GpuCommandEncoder,
    b: GpuScanBuffers,
    dims: ScanDims,
    options: { deltaSoftplus?: boolean; hasInitialState?: boolean } = {},
  ): Promise<void> {
    const { batch, d, L, N, groups } = dims;
    const pipeline = await this.pipeline(`scan N${N}`, () => scanShader(N));
    const dg = d / groups;
    const blocks = Math.ceil(dg / WORKGROUP);
    const grid = this.grid(batch * groups * blocks);
    const flags =
      (options.deltaSoftplus ? FLAG.SOFTPLUS : 0) |
      (b.D ? FLAG.HAS_D : 0) |
      (b.z ? FLAG.HAS_Z : 0) |
      (b.deltaBias ? FLAG.HAS_BIAS : 0) |
      (options.hasInitialState ? FLAG.HAS_INIT : 0);
    this.dispatch(
      encoder,
      pipeline,
      [batch, d, L, groups, dg, blocks, flags, grid[0]],
      [b.u, b.delta, b.z, b.A, b.B, b.C, b.D, b.deltaBias, b.state, b.out],
      grid,
    );
  }

  /** Records a one-token state update (state updated in place on the GPU). */
  async encodeSelectiveStateUpdate(
    encoder: GpuCommandEncoder,
    b: GpuStateUpdateBuffers,
    dims: UpdateDims,
    options: { dtSoftplus?: boolean } = {},
  ): Promise<void> {
    const { batch, d, N, groups } = dims;
    const pipeline = await this.pipeline(`state update N${N}`, () => stateUpdateShader(N));
    const grid = this.grid(Math.ceil((batch * d) / WORKGROUP));
    const flags =
      (options.dtSoftplus ? FLAG.SOFTPLUS : 0) |
      (b.D ? FLAG.HAS_D : 0) |
      (b.z ? FLAG.HAS_Z : 0) |
      (b.dtBias ? FLAG.HAS_BIAS : 0);
    this.dispatch(
      encoder,
      pipeline,
      [batch, d, groups, d / groups, flags, grid[0], 0, 0],
      [b.x, b.dt, b.z, b.A, b.B, b.C, b.D, b.dtBias, b.state, b.out],
      grid,
    );
  }

  async encodeCausalConv1d(
    encoder: GpuCommandEncoder,
    b: GpuConvBuffers,
    dims: ConvDims,
    options: { silu?: boolean } = {},
  ): Promise<void> {
    const { batch, d, L, W } = dims;
    const pipeline = await this.pipeline("conv", () => CONV_SHADER);
    const grid = this.grid(Math.ceil((batch * d * (L + W - 1)) / WORKGROUP));
    const flags =
      (options.silu ? FLAG.SILU : 0) | (b.bias ? FLAG.HAS_BIAS : 0) | (b.initialState ? FLAG.HAS_INIT : 0);
    this.dispatch(
      encoder,
      pipeline,
      [batch, d, L, W, flags, grid[0], 0, 0],
      [b.x, b.weight, b.bias, b.initialState, b.out, b.finalState],
      grid,
    );
  }

  async encodeCausalConv1dUpdate(
    encoder: GpuCommandEncoder,
    b: GpuConvUpdateBuffers,
    dims: ConvDims,
    options: { silu?: boolean } = {},
  ): Promise<void> {
    const { batch, d, W } = dims;
    const pipeline = await this.pipeline("conv update", () => CONV_UPDATE_SHADER);
    const grid = this.grid(Math.ceil((batch * d) / WORKGROUP));
    const flags = (options.silu ? FLAG.SILU : 0) | (b.bias ? FLAG.HAS_BIAS : 0);
    this.dispatch(
      encoder,
      pipeline,
      [batch, d, W, flags, grid[0], 0, 0, 0],
      [b.x, b.weight, b.bias, b.convState, b.out],
      grid,
    );
  }

  // ---- ScanKernel: Float32Array in and out ----

  /** A storage buffer holding `data` (at least 16 bytes: WebGPU rejects empty bindings). */
  private upload(data: Float32Array, label: string): GpuBuffer {
    const buf = this.device.createBuffer({
      size: Math.max(16, data.byteLength),
      usage: STORAGE_IO,
      mappedAtCreation: true,
      label,
    });
    new Float32Array(buf.getMappedRange(0, data.byteLength)).set(data);
    buf.unmap();
    return buf;
  }

  private optionalUpload(t: F32Tensor | null | undefined, label: string): GpuBuffer | undefined {
    return t ? this.upload(t.data, label) : undefined;
  }

  private storage(floats: number, label: string): GpuBuffer {
    return this.device.createBuffer({ size: Math.max(16, floats * 4), usage: STORAGE_IO, label });
  }

  /**
   * Runs `record`, then copies `outputs` back; validation errors surface as exceptions. Every buffer in
   * `owned` is destroyed afterwards.
   */
  private async execute(
    record: (encoder: GpuCommandEncoder) => Promise<void>,
    outputs: { buffer: GpuBuffer; floats: number }[],
    owned: (GpuBuffer | undefined)[],
  ): Promise<Float32Array[]> {
    if (this.disposed) throw new CobraError("the WebGPU scan kernel was disposed");
    const total = outputs.reduce((a, o) => a + o.floats, 0);
    const staging = this.device.createBuffer({
      size: Math.max(16, total * 4),
      usage: MAP_READ | BufferUsage.COPY_DST,
    });
    this.device.pushErrorScope("validation");
    try {
      const encoder = this.device.createCommandEncoder({ label: "cobra-ts scan" });
      await record(encoder);
      let at = 0;
      for (const o of outputs) {
        if (o.floats > 0) encoder.copyBufferToBuffer(o.buffer, 0, staging, at * 4, o.floats * 4);
        at += o.floats;
      }
      this.device.queue.submit([encoder.finish()]);
      const error = await this.device.popErrorScope();
      if (error) throw new CobraError(`WebGPU validation error: ${error.message}`);
      await staging.mapAsync(MAP_READ);
      const all = new Float32Array(staging.getMappedRange().slice(0, total * 4));
      staging.unmap();
      let off = 0;
      return outputs.map((o) => all.slice(off, (off += o.floats)));
    } finally {
      staging.destroy();
      for (const b of owned) b?.destroy();
    }
  }

  async selectiveScan(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions = {},
  ): Promise<SelectiveScanResult> {
    const dims = scanDims(u, delta, A, B, C, o);
    const { batch, d, L, N } = dims;
    const b: GpuScanBuffers = {
      u: this.upload(u.data, "u"),
      delta: this.upload(delta.data, "delta"),
      A: this.upload(A.data, "A"),
      B: this.upload(B.data, "B"),
      C: this.upload(C.data, "C"),
      D: this.optionalUpload(o.D, "D"),
      z: this.optionalUpload(o.z, "z"),
      deltaBias: this.optionalUpload(o.deltaBias, "deltaBias"),
      state: o.initialState
        ? this.upload(o.initialState.data, "state")
        : this.storage(batch * d * N, "state"),
      out: this.storage(batch * d * L, "out"),
    };
    const [out, state] = await this.execute(
      (enc) =>
        this.encodeSelectiveScan(enc, b, dims, {
          deltaSoftplus: o.deltaSoftplus,
          hasInitialState: !!o.initialState,
        }),
      [
        { buffer: b.out, floats: batch * d * L },
        { buffer: b.state, floats: batch * d * N },
      ],
      Object.values(b),
    );
    return { out: f32([batch, d, L], out), lastState: f32([batch, d, N], state) };
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
    const dims = updateDims(state, x, dt, A, B, C, o);
    const { batch, d } = dims;
    const b: GpuStateUpdateBuffers = {
      state: this.upload(state.data, "state"),
      x: this.upload(x.data, "x"),
      dt: this.upload(dt.data, "dt"),
      A: this.upload(A.data, "A"),
      B: this.upload(B.data, "B"),
      C: this.upload(C.data, "C"),
      D: this.optionalUpload(o.D, "D"),
      z: this.optionalUpload(o.z, "z"),
      dtBias: this.optionalUpload(o.dtBias, "dtBias"),
      out: this.storage(batch * d, "out"),
    };
    const [out, newState] = await this.execute(
      (enc) => this.encodeSelectiveStateUpdate(enc, b, dims, { dtSoftplus: o.dtSoftplus }),
      [
        { buffer: b.out, floats: batch * d },
        { buffer: b.state, floats: state.data.length },
      ],
      Object.values(b),
    );
    state.data.set(newState);
    return f32([batch, d], out);
  }

  async causalConv1d(
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dOptions = {},
  ): Promise<CausalConv1dResult> {
    const dims = convDims(x, weight, bias, o);
    const { batch, d, L, W } = dims;
    const b: GpuConvBuffers = {
      x: this.upload(x.data, "x"),
      weight: this.upload(weight.data, "weight"),
      bias: this.optionalUpload(bias, "bias"),
      initialState: this.optionalUpload(o.initialState, "initialState"),
      out: this.storage(batch * d * L, "out"),
      finalState: this.storage(batch * d * (W - 1), "finalState"),
    };
    const [out, finalState] = await this.execute(
      (enc) => this.encodeCausalConv1d(enc, b, dims, { silu: o.silu }),
      [
        { buffer: b.out, floats: batch * d * L },
        { buffer: b.finalState, floats: batch * d * (W - 1) },
      ],
      Object.values(b),
    );
    return { out: f32([batch, d, L], out), finalState: f32([batch, d, W - 1], finalState) };
  }

  async causalConv1dUpdate(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dUpdateOptions = {},
  ): Promise<F32Result> {
    const dims = convUpdateDims(convState, x, weight, bias);
    const { batch, d } = dims;
    const b: GpuConvUpdateBuffers = {
      convState: this.upload(convState.data, "convState"),
      x: this.upload(x.data, "x"),
      weight: this.upload(weight.data, "weight"),
      bias: this.optionalUpload(bias, "bias"),
      out: this.storage(batch * d, "out"),
    };
    const [out, newState] = await this.execute(
      (enc) => this.encodeCausalConv1dUpdate(enc, b, dims, { silu: o.silu }),
      [
        { buffer: b.out, floats: batch * d },
        { buffer: b.convState, floats: convState.data.length },
      ],
      Object.values(b),
    );
    convState.data.set(newState);
    return f32([batch, d], out);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dummy.destroy();
    if (this.ownsDevice) this.device.destroy();
  }
}

/** Creates the WebGPU kernel on a new device, or on `options.device`. */
export function createWebGpuKernel(options: WebGpuKernelOptions = {}): Promise<WebGpuScanKernel> {
  return WebGpuScanKernel.create(options);
}
