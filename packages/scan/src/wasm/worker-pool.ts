import { CobraError } from "@cobra-ts/core";
import { CALL_BITS, CTRL, MAX_WORKERS } from "./control-block.js";
import { claimCall, WORKER_SOURCE } from "./worker-source.js";

/** The little of Node's worker_threads.Worker / the DOM Worker that the pool uses. */
interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

const isNode =
  typeof process === "object" &&
  !!process.versions?.node &&
  typeof (globalThis as { self?: unknown }).self === "undefined";

/** Number of logical cores (Node: os.availableParallelism; browsers: navigator.hardwareConcurrency). */
export async function logicalCores(): Promise<number> {
  if (isNode) {
    // A computed specifier: bundlers for the browser leave it alone.
    const spec = "node:os";
    const os = (await import(/* @vite-ignore */ spec)) as typeof import("node:os");
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** Whether this context may create shared wasm memory (Node, or a crossOriginIsolated page/worker). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== "function") return false;
  if (isNode) return true;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
export function canBlock(): boolean {
  if (isNode) return true;
  return typeof (globalThis as { document?: unknown }).document === "undefined";
}

async function spawn(module: WebAssembly.Module, memory: WebAssembly.Memory, id: number): Promise<AnyWorker> {
  let worker: AnyWorker;
  let ready: Promise<void>;
  if (isNode) {
    const spec = "node:worker_threads";
    const { Worker } = (await import(/* @vite-ignore */ spec)) as typeof import("node:worker_threads");
    const w = new Worker(WORKER_SOURCE, { eval: true, name: `cobra-scan-${id}` });
    w.unref(); // idle kernels must not keep the process alive
    ready = new Promise((resolve, reject) => {
      w.once("message", () => resolve());
      w.once("error", reject);
    });
    worker = w;
  } else {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const w = new Worker(url, { name: `cobra-scan-${id}` });
    URL.revokeObjectURL(url);
    ready = new Promise((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => reject(new CobraError(`scan worker ${id} failed to start: ${e.message}`));
    });
    worker = w;
  }
  worker.postMessage({ module, memory, id });
  await ready;
  return worker;
}

/**
 * Worker threads sharing the kernels' memory. The caller writes the job's call list into the memory,
 * `start()`s it, claims calls on the calling thread too, then waits until every call is done
 * (`waitSync` / `waitAsync`): a worker that another process keeps off the CPU and claims nothing is not
 * waited for.
 */
export class WorkerPool {
  private readonly ctrl: Int32Array;
  private disposed = false;
  private seq = 0;
  private count = 0;

  private constructor(
    private readonly workers: AnyWorker[],
    memory: WebAssembly.Memory,
  ) {
    this.ctrl = new Int32Array(memory.buffer, 0, 1024);
  }

  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    count: number,
  ): Promise<WorkerPool> {
    if (count < 1 || count > MAX_WORKERS)
      throw new CobraError(`worker count ${count} out of range 1..${MAX_WORKERS}`);
    const workers = await Promise.all(Array.from({ length: count }, (_, i) => spawn(module, memory, i)));
    return new WorkerPool(workers, memory);
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Starts a job: the `count` calls at byte offset `list` (CALL_STRIDE int32 each), claimed by the workers
   * and by the caller (`claim()`, then `done()` per call) until none is left.
   */
  start(list: number, count: number): void {
    if (this.disposed) throw new CobraError("the wasm scan kernel was disposed");
    if (count >= 1 << CALL_BITS) throw new CobraError(`a job of ${count} calls is too large`);
    this.seq = (this.seq + 1) & ((1 << (31 - CALL_BITS)) - 1);
    const seq = this.seq << CALL_BITS;
    // Close claims (index saturated) under the new sequence number before rewriting the job.
    Atomics.store(this.ctrl, CTRL.NEXT, seq | ((1 << CALL_BITS) - 1));
    Atomics.store(this.ctrl, CTRL.ERROR, 0);
    Atomics.store(this.ctrl, CTRL.LIST, list);
    Atomics.store(this.ctrl, CTRL.COUNT, count);
    Atomics.store(this.ctrl, CTRL.DONE, 0);
    Atomics.store(this.ctrl, CTRL.NEXT, seq);
    this.count = count;
    Atomics.add(this.ctrl, CTRL.GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL.GENERATION);
  }

  /** The index of a call of the current job for the calling thread, or -1 when none is left. */
  claim(): number {
    return claimCall(this.ctrl)?.index ?? -1;
  }

  /** Counts a call the calling thread finished. */
  done(): void {
    Atomics.add(this.ctrl, CTRL.DONE, 1);
  }

  /** Blocks until every call of the job is done (spinning first: jobs are short). */
  waitSync(): void {
    for (let i = 0; i < 2000 && Atomics.load(this.ctrl, CTRL.DONE) !== this.count; i++);
    for (let d = Atomics.load(this.ctrl, CTRL.DONE); d !== this.count; d = Atomics.load(this.ctrl, CTRL.DONE))
      Atomics.wait(this.ctrl, CTRL.DONE, d);
    this.checkError();
  }

  /** Waits without blocking the thread (a browser's main thread). */
  async waitAsync(): Promise<void> {
    for (
      let d = Atomics.load(this.ctrl, CTRL.DONE);
      d !== this.count;
      d = Atomics.load(this.ctrl, CTRL.DONE)
    ) {
      const waitAsync = (
        Atomics as { waitAsync?: (a: Int32Array, i: number, v: number) => { value: unknown } }
      ).waitAsync;
      if (waitAsync) await waitAsync(this.ctrl, CTRL.DONE, d).value;
      else await new Promise((r) => setTimeout(r, 0));
    }
    this.checkError();
  }

  private checkError(): void {
    if (Atomics.load(this.ctrl, CTRL.ERROR))
      throw new CobraError("a scan worker thread failed (see its console output)");
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctrl, CTRL.QUIT, 1);
    Atomics.add(this.ctrl, CTRL.GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL.GENERATION);
    for (const w of this.workers) void w.terminate();
  }
}
