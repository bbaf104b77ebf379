import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InvalidArgumentError } from "@cobra-ts/core";
import { READ_BANDWIDTH_WASM_BASE64 } from "./read-bandwidth-wasm.js";

export interface BandwidthOptions {
  /** Reader threads; default one per core (the limit a multi-threaded decode can reach). */
  threads?: number;
  /** Buffer per thread; default 1 GiB, far beyond any cache. */
  bytesPerThread?: number;
  /** Timed passes over every buffer; the best one counts. */
  passes?: number;
}

export interface BandwidthResult {
  /** Best pass: all threads' bytes over the time from the first start to the last end. */
  gbPerS: number;
  threads: number;
  bytesPerThread: number;
  passesGbPerS: number[];
}

/** What a worker runs: fill its own memory (so pages are real, not the shared zero page), then timed passes. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { wasm, bytes, passes, threads, arrive } = workerData;
const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
const { read } = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env: { memory } }).exports;
new Uint32Array(memory.buffer).fill(0x01010101);
const counter = new Int32Array(arrive);
const now = () => performance.timeOrigin + performance.now();
const starts = [], ends = [];
let sink = 0;
for (let p = 0; p < passes; p++) {
  // Spin barrier: every thread starts each pass together, so the passes overlap as in a parallel decode.
  Atomics.add(counter, 0, 1);
  while (Atomics.load(counter, 0) < threads * (p + 1));
  starts.push(now());
  sink ^= read(0, bytes);
  ends.push(now());
}
parentPort.postMessage({ starts, ends, sink });
`;

/**
 * Read bandwidth the way the decode limit is set: read-only, buffers far larger than the caches, all cores at
 * once (worker threads with WebAssembly SIMD loads), best of several passes. A one-thread copy loop would
 * report a lower figure and make decode look closer to the limit than it is.
 */
export async function measureReadBandwidth(options: BandwidthOptions = {}): Promise<BandwidthResult> {
  const threads = options.threads ?? availableParallelism();
  const passes = options.passes ?? 8;
  const requested = options.bytesPerThread ?? 2 ** 30;
  if (!Number.isInteger(threads) || threads < 1)
    throw new InvalidArgumentError(`threads must be >= 1, got ${threads}`);
  if (!Number.isInteger(passes) || passes < 1)
    throw new InvalidArgumentError(`passes must be >= 1, got ${passes}`);
  if (!(requested >= 2 ** 16 && requested <= 2 ** 31))
    throw new InvalidArgumentError(`bytes per thread must be between 64 KiB and 2 GiB, got ${requested}`);
  const bytes = Math.floor(requested / 65536) * 65536; // whole wasm pages; a multiple of the loop's 128 bytes
  const wasm = Buffer.from(READ_BANDWIDTH_WASM_BASE64, "base64");
  const arrive = new SharedArrayBuffer(4);
  const runs = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<{ starts: number[]; ends: number[] }>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: { wasm, bytes, passes, threads, arrive },
          });
          worker.once("message", (m) => {
            resolve(m);
            void worker.terminate();
          });
          worker.once("error", reject);
        }),
    ),
  );
  const passesGbPerS = Array.from({ length: passes }, (_, p) => {
    const start = Math.min(...runs.map((r) => r.starts[p]));
    const end = Math.max(...runs.map((r) => r.ends[p]));
    return (threads * bytes) / ((end - start) / 1000) / 1e9;
  });
  return { gbPerS: Math.max(...passesGbPerS), threads, bytesPerThread: bytes, passesGbPerS };
}
