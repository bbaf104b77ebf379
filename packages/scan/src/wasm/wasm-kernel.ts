/**
 * The fast CPU kernels: WebAssembly SIMD (scan.wat), split by channel across worker threads that share the
 * module's memory. The same build runs in Node (worker_threads) and browsers (Web Workers, when the page is
 * crossOriginIsolated; otherwise single-threaded on a plain memory).
 *
 * Each call copies its inputs into the wasm memory, runs, and copies the outputs out (about 1 ms per 20 MB).
 * Accuracy: float32 arithmetic with a polynomial exp (relative error 2.1e-7 for |x| <= 1, 6e-7 for |x| <= 10),
 * so results differ from the float64 reference by a few float32 ulps.
 */
import { CobraError, f32, InvalidArgumentError } from "@cobra-ts/core";
import { convDims, convUpdateDims, scanDims, updateDims } from "../shapes.js";
import type {
  CausalConv1dOptions,
  CausalConv1dResult,
  CausalConv1dUpdateOptions,
  F32Result,
  F32Tensor,
  SelectiveScanOptions,
  SelectiveScanResult,
  SelectiveStateUpdateOptions,
  SyncScanKernel,
} from "../types.js";
import { CALL_STRIDE, DATA_START } from "./control-block.js";
import {
  compileScanModule,
  KERNEL_NAMES,
  type KernelName,
  type ScanWasmExports,
  wasmSimdSupported,
} from "./wasm-module.js";
import { type Segment, segments, splitWork } from "./work-split.js";
import { canBlock, logicalCores, sharedMemoryAvailable, WorkerPool } from "./worker-pool.js";

export interface WasmKernelOptions {
  /**
   * Threads, the calling one included. Default: the logical cores, at most 8; always 1 where shared memory is
   * unavailable (a browser page that is not crossOriginIsolated).
   */
  threads?: number;
  /** Calls with less work than this (channel x state x token updates) stay on the calling thread. Default 2^18. */
  minParallelWork?: number;
  /** Tokens per scan chunk (the per-chunk tiles should fit in L1). */
  chunk?: number;
}

export interface WasmScanKernel extends SyncScanKernel {
  /** Threads a large call uses, the calling one included. */
  readonly threads: number;
  /** Work (channel x state x token) from which calls are split across threads. */
  minParallelWork: number;
  /** Runs the in-wasm exp (0), softplus (1) or silu (2) on xs: lets tests measure the approximations. */
  mapApprox(xs: Float32Array, fn: 0 | 1 | 2): Float32Array;
}

const PAGE = 65536;

/** Byte offsets for one call's buffers, 16-byte aligned, after the control block. */
class Layout {
  top = DATA_START;
  alloc(floats: number): number {
    const at = this.top;
    this.top += Math.ceil((floats * 4) / 16) * 16;
    return at;
  }
  /** Like alloc, 0 (absent) when t is absent. */
  optional(t: F32Tensor | null | undefined): number {
    return t ? this.alloc(t.data.length) : 0;
  }
}

/** One kernel run: its buffers, its calls (one per (batch, group) segment, before any thread split), I/O. */
interface Job<T> {
  kernel: KernelName;
  segs: Segment[];
  /** channel x state x token updates (or x taps): decides whether threads are worth waking */
  work: number;
  /** 4-channel blocks, the unit of the thread split */
  blocks: number;
  lay: Layout;
  scratchFloats: number;
  args: (s: Segment, scratch: number) => number[];
  copyIn: (f: Float32Array) => void;
  collect: (f: Float32Array) => T;
}

class WasmKernel implements WasmScanKernel {
  readonly name = "wasm-simd";
  private busy = false;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly exports: ScanWasmExports,
    private readonly pool: WorkerPool | null,
    public minParallelWork: number,
    private readonly chunk: number,
  ) {}

  get threads(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  private view(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  private enter(): void {
    if (this.disposed) throw new CobraError("the wasm scan kernel was disposed");
    if (this.busy)
      throw new CobraError("the wasm scan kernel is already running a call (calls are not reentrant)");
    this.busy = true;
  }

  /**
   * Allocates scratch (one per call) and, when threaded, the call list; grows the memory, copies the inputs
   * and starts the workers. Threaded jobs are cut into about 8 calls per thread, which every thread claims
   * dynamically (a thread that another process slows down takes fewer).
   */
  private prepare<T>(job: Job<T>, threaded: boolean): { calls: Segment[]; scratch: number[] } {
    const calls = threaded ? splitWork(job.segs, Math.min(job.blocks, this.threads * 8)).flat() : job.segs;
    const scratch = calls.map(() => job.lay.alloc(job.scratchFloats));
    const list = threaded ? job.lay.alloc(calls.length * CALL_STRIDE) : 0;
    this.ensure(job.lay.top);
    job.copyIn(this.view());
    if (threaded && this.pool) {
      const i32 = new Int32Array(this.memory.buffer);
      const index = KERNEL_NAMES.indexOf(job.kernel);
      calls.forEach((s, k) => {
        const o = list / 4 + k * CALL_STRIDE;
        i32[o] = index;
        i32.set(job.args(s, scratch[k]), o + 1);
      });
      this.pool.start(list, calls.length);
    }
    return { calls, scratch };
  }

  private threaded<T>(job: Job<T>, canWait: boolean): boolean {
    return !!this.pool && canWait && job.work >= this.minParallelWork && job.blocks > 1;
  }

  /** Runs the calls this thread claims (all of them when single-threaded). */
  private runCalls<T>(job: Job<T>, calls: Segment[], scratch: number[], threaded: boolean): void {
    const fn = this.exports[job.kernel] as (...a: number[]) => void;
    if (threaded && this.pool)
      for (let k = this.pool.claim(); k >= 0; k = this.pool.claim()) {
        try {
          fn(...job.args(calls[k], scratch[k]));
        } finally {
          this.pool.done(); // even on a trap: the wait counts calls, not threads
        }
      }
    else
      calls.forEach((s, k) => {
        fn(...job.args(s, scratch[k]));
      });
  }

  private runSync<T>(job: Job<T>): T {
    this.enter();
    try {
      // A browser's main thread may not block in Atomics.wait: single-threaded there.
      const threaded = this.threaded(job, canBlock());
      const { calls, scratch } = this.prepare(job, threaded);
      try {
        this.runCalls(job, calls, scratch, threaded);
      } finally {
        if (threaded) this.pool?.waitSync();
      }
      return job.collect(this.view());
    } finally {
      this.busy = false;
    }
  }

  /** Like runSync where blocking is allowed; elsewhere (a browser's main thread) waits with Atomics.waitAsync. */
  private runAsync<T>(job: () => Job<T>): Promise<T> {
    if (canBlock()) return Promise.resolve().then(() => this.runSync(job()));
    const run = async () => {
      const j = job();
      this.enter();
      try {
        const threaded = this.threaded(j, true);
        const { calls, scratch } = this.prepare(j, threaded);
        try {
          this.runCalls(j, calls, scratch, threaded);
        } finally {
          if (threaded) await this.pool?.waitAsync();
        }
        return j.collect(this.view());
      } finally {
        this.busy = false;
      }
    };
    // Calls queue up: one job at a time owns the memory.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  private scanJob(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions,
  ): Job<SelectiveScanResult> {
    const { batch, d, L, N, groups } = scanDims(u, delta, A, B, C, o);
    if (L === 1) return this.scanOneTokenJob(u, delta, A, B, C, o, { batch, d, N });
    const lay = new Layout();
    const pu = lay.alloc(u.data.length);
    const pDelta = lay.alloc(delta.data.length);
    const pz = lay.optional(o.z);
    const pA = lay.alloc(A.data.length);
    const pB = lay.alloc(B.data.length);
    const pC = lay.alloc(C.data.length);
    const pD = lay.optional(o.D);
    const pBias = lay.optional(o.deltaBias);
    const pH0 = lay.optional(o.initialState);
    const pOut = lay.alloc(batch * d * L);
    const pHT = lay.alloc(batch * d * N);
    const chunk = Math.min(this.chunk, L);
    const softplus = o.deltaSoftplus ? 1 : 0;
    return {
      kernel: "scan",
      segs: segments(batch, d, groups),
      work: batch * d * N * L,
      blocks: batch * Math.ceil(d / 4),
      lay,
      scratchFloats: 16 * chunk + 8 * N,
      args: (s, scratch) => {
        const row = s.b * d * L * 4;
        const bc = (s.b * groups + s.g) * N * L * 4;
        const st = s.b * d * N * 4;
        return [
          pu + row,
          pDelta + row,
          pz && pz + row,
          pA,
          pB + bc,
          pC + bc,
          pD,
          pBias,
          pH0 && pH0 + st,
          pOut + row,
          pHT + st,
          s.c0,
          s.c1,
          L,
          N,
          softplus,
          scratch,
          chunk,
        ];
      },
      copyIn: (f) =>
        copyAll(f, [
          [pu, u],
          [pDelta, delta],
          [pz, o.z],
          [pA, A],
          [pB, B],
          [pC, C],
          [pD, o.D],
          [pBias, o.deltaBias],
          [pH0, o.initialState],
        ]),
      collect: (f) => ({
        out: f32([batch, d, L], f.slice(pOut / 4, pOut / 4 + batch * d * L)),
        lastState: f32([batch, d, N], f.slice(pHT / 4, pHT / 4 + batch * d * N)),
      }),
    };
  }

  /** A one-token scan is a state update from the initial state: the update kernel has no per-block setup. */
  private scanOneTokenJob(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions,
    { batch, d, N }: { batch: number; d: number; N: number },
  ): Job<SelectiveScanResult> {
    // [batch, X, 1] -> [batch, X] (and [batch, G, N, 1] -> [batch, G, N]): the same memory layout.
    const tok = (t: F32Tensor): F32Tensor => ({ shape: t.shape.slice(0, -1), data: t.data });
    // The caller's initial state is only read: the new state is sliced out of the wasm memory.
    const state0 = o.initialState ?? f32([batch, d, N], new Float32Array(batch * d * N));
    let lastState: Float32Array = new Float32Array(0);
    const job = this.updateJob(
      state0,
      tok(u),
      tok(delta),
      A,
      tok(B),
      tok(C),
      { D: o.D, z: o.z && tok(o.z), dtBias: o.deltaBias, dtSoftplus: o.deltaSoftplus },
      (s) => {
        lastState = s.slice();
      },
    );
    return {
      ...job,
      collect: (f) => {
        const out = job.collect(f);
        return { out: f32([batch, d, 1], out.data), lastState: f32([batch, d, N], lastState) };
      },
    };
  }

  /** `stateOut` receives the new state (a view of the wasm memory); default: written back into `state`. */
  private updateJob(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveStateUpdateOptions,
    stateOut: (s: Float32Array) => void = (s) => state.data.set(s),
  ): Job<F32Result> {
    const { batch, d, N, groups } = updateDims(state, x, dt, A, B, C, o);
    const lay = new Layout();
    const pState = lay.alloc(state.data.length);
    const px = lay.alloc(x.data.length);
    const pdt = lay.alloc(dt.data.length);
    const pA = lay.alloc(A.data.length);
    const pB = lay.alloc(B.data.length);
    const pC = lay.alloc(C.data.length);
    const pD = lay.optional(o.D);
    const pz = lay.optional(o.z);
    const pBias = lay.optional(o.dtBias);
    const pOut = lay.alloc(batch * d);
    const softplus = o.dtSoftplus ? 1 : 0;
    return {
      kernel: "state_update",
      segs: segments(batch, d, groups),
      work: batch * d * N,
      blocks: batch * Math.ceil(d / 4),
      lay,
      scratchFloats: d,
      args: (s, scratch) => {
        const row = s.b * d * 4;
        const bc = (s.b * groups + s.g) * N * 4;
        return [
          pState + row * N,
          px + row,
          pdt + row,
          pA,
          pB + bc,
          pC + bc,
          pD,
          pz && pz + row,
          pBias,
          pOut + row,
          s.c0,
          s.c1,
          N,
          softplus,
          scratch,
        ];
      },
      copyIn: (f) =>
        copyAll(f, [
          [pState, state],
          [px, x],
          [pdt, dt],
          [pA, A],
          [pB, B],
          [pC, C],
          [pD, o.D],
          [pz, o.z],
          [pBias, o.dtBias],
        ]),
      collect: (f) => {
        stateOut(f.subarray(pState / 4, pState / 4 + state.data.length));
        return f32([batch, d], f.slice(pOut / 4, pOut / 4 + batch * d));
      },
    };
  }

  private convJob(
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null,
    o: CausalConv1dOptions,
  ): Job<CausalConv1dResult> {
    const { batch, d, L, W } = convDims(x, weight, bias, o);
    const lay = new Layout();
    const px = lay.alloc(x.data.length);
    const pw = lay.alloc(weight.data.length);
    const pBias = lay.optional(bias);
    const pInit = lay.optional(o.initialState);
    const pOut = lay.alloc(batch * d * L);
    const hist = W - 1;
    // With W = 1 there is no final state to write (0 = absent).
    const pFinal = hist > 0 ? lay.alloc(batch * d * hist) : 0;
    return {
      kernel: "conv1d",
      segs: segments(batch, d, 1),
      work: batch * d * L * W,
      blocks: batch * Math.ceil(d / 4),
      lay,
      scratchFloats: hist + L + 4,
      args: (s, scratch) => [
        px + s.b * d * L * 4,
        pw,
        pBias,
        pInit && pInit + s.b * d * hist * 4,
        pOut + s.b * d * L * 4,
        pFinal && pFinal + s.b * d * hist * 4,
        s.c0,
        s.c1,
        L,
        W,
        o.silu ? 1 : 0,
        scratch,
      ],
      copyIn: (f) =>
        copyAll(f, [
          [px, x],
          [pw, weight],
          [pBias, bias],
          [pInit, o.initialState],
        ]),
      collect: (f) => ({
        out: f32([batch, d, L], f.slice(pOut / 4, pOut / 4 + batch * d * L)),
        finalState: f32([batch, d, hist], f.slice(pFinal / 4, pFinal / 4 + batch * d * hist)),
      }),
    };
  }

  private convUpdateJob(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null,
    o: CausalConv1dUpdateOptions,
  ): Job<F32Result> {
    const { batch, d, W } = convUpdateDims(convState, x, weight, bias);
    const lay = new Layout();
    const pState = lay.alloc(convState.data.length);
    const px = lay.alloc(x.data.length);
    const pw = lay.alloc(weight.data.length);
    const pBias = lay.optional(bias);
    const pOut = lay.alloc(batch * d);
    return {
      kernel: "conv_update",
      segs: segments(batch, d, 1),
      // d x W: never worth waking threads.
      work: 0,
      blocks: batch * Math.ceil(d / 4),
      lay,
      scratchFloats: 0,
      args: (s) => [
        pState + s.b * d * W * 4,
        px + s.b * d * 4,
        pw,
        pBias,
        pOut + s.b * d * 4,
        s.c0,
        s.c1,
        W,
        o.silu ? 1 : 0,
      ],
      copyIn: (f) =>
        copyAll(f, [
          [pState, convState],
          [px, x],
          [pw, weight],
          [pBias, bias],
        ]),
      collect: (f) => {
        convState.data.set(f.subarray(pState / 4, pState / 4 + convState.data.length));
        return f32([batch, d], f.slice(pOut / 4, pOut / 4 + batch * d));
      },
    };
  }

  selectiveScanSync(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions = {},
  ): SelectiveScanResult {
    return this.runSync(this.scanJob(u, delta, A, B, C, o));
  }

  selectiveStateUpdateSync(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveStateUpdateOptions = {},
  ): F32Result {
    return this.runSync(this.updateJob(state, x, dt, A, B, C, o));
  }

  causalConv1dSync(
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dOptions = {},
  ): CausalConv1dResult {
    return this.runSync(this.convJob(x, weight, bias, o));
  }

  causalConv1dUpdateSync(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dUpdateOptions = {},
  ): F32Result {
    return this.runSync(this.convUpdateJob(convState, x, weight, bias, o));
  }

  selectiveScan(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveScanOptions = {},
  ): Promise<SelectiveScanResult> {
    return this.runAsync(() => this.scanJob(u, delta, A, B, C, o));
  }

  selectiveStateUpdate(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    o: SelectiveStateUpdateOptions = {},
  ): Promise<F32Result> {
    return this.runAsync(() => this.updateJob(state, x, dt, A, B, C, o));
  }

  causalConv1d(
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dOptions = {},
  ): Promise<CausalConv1dResult> {
    return this.runAsync(() => this.convJob(x, weight, bias, o));
  }

  causalConv1dUpdate(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias: F32Tensor | null = null,
    o: CausalConv1dUpdateOptions = {},
  ): Promise<F32Result> {
    return this.runAsync(() => this.convUpdateJob(convState, x, weight, bias, o));
  }

  mapApprox(xs: Float32Array, fn: 0 | 1 | 2): Float32Array {
    this.enter();
    try {
      const n = Math.ceil(xs.length / 4) * 4;
      this.ensure(DATA_START + n * 4);
      const f = this.view();
      f.fill(0, DATA_START / 4, DATA_START / 4 + n);
      f.set(xs, DATA_START / 4);
      this.exports.map_f32(DATA_START, n, fn);
      return this.view().slice(DATA_START / 4, DATA_START / 4 + xs.length);
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
  }
}

/** Copies each present tensor to its byte offset. */
function copyAll(f: Float32Array, items: [number, F32Tensor | null | undefined][]): void {
  for (const [at, t] of items) if (t && at) f.set(t.data, at / 4);
}

function createMemory(shared: boolean): WebAssembly.Memory {
  if (!shared) return new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  try {
    return new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
  } catch {
    // Some 32-bit browsers cannot reserve 4 GiB for a shared memory.
    return new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
  }
}

/** Creates the WebAssembly SIMD kernel (and its worker threads). Throws where wasm SIMD is unsupported. */
export async function createWasmKernel(options: WasmKernelOptions = {}): Promise<WasmScanKernel> {
  if (!wasmSimdSupported())
    throw new CobraError("WebAssembly SIMD is not supported by this JavaScript engine");
  const requested = options.threads ?? Math.min(8, await logicalCores());
  if (!Number.isInteger(requested) || requested < 1)
    throw new InvalidArgumentError(`threads must be a positive integer, got ${requested}`);
  const chunk = options.chunk ?? 256;
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new InvalidArgumentError(`chunk must be a positive integer, got ${chunk}`);
  const threaded = requested > 1 && sharedMemoryAvailable();
  const memory = createMemory(threaded);
  const module = await compileScanModule(threaded);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const pool = threaded ? await WorkerPool.create(module, memory, requested - 1) : null;
  return new WasmKernel(
    memory,
    instance.exports as unknown as ScanWasmExports,
    pool,
    // One-token updates of a 2.8B layer (d N = 82k) stay on the calling thread: waking a worker costs about
    // what it saves there, and much more when another process holds the other core.
    options.minParallelWork ?? 1 << 18,
    chunk,
  );
}
