import { CALL_BITS, CALL_STRIDE, CTRL } from "./control-block.js";
import { KERNEL_NAMES } from "./wasm-module.js";

/**
 * The worker thread, as source text so that one build runs as a Node worker_threads `eval` worker and as a
 * browser Web Worker (Blob URL) without a separate file to resolve. It instantiates the kernels on the shared
 * memory, then loops: wait for the generation to change, claim and run calls of the current job until none is
 * left, counting each in DONE.
 * It spins briefly (a few microseconds) before blocking so that back-to-back calls (decoding: 2 calls per
 * layer per token) do not pay the futex wake-up (~12 us) each time; longer spins hurt when another process
 * holds the other core.
 */
/**
 * Claims the next call of the current job: { index, list, count }, or null when none is left. Reads the
 * job's list and count between two reads of NEXT with the same sequence number (the caller closes a job's
 * claims by switching the sequence number before rewriting them), then takes the index by compare-and-swap.
 * The worker runs this same function (its source is in WORKER_SOURCE: keep both alike).
 */
export function claimCall(ctrl: Int32Array): { index: number; list: number; count: number } | null {
  for (;;) {
    const v = Atomics.load(ctrl, CTRL.NEXT);
    const list = Atomics.load(ctrl, CTRL.LIST);
    const count = Atomics.load(ctrl, CTRL.COUNT);
    if (Atomics.load(ctrl, CTRL.NEXT) >>> CALL_BITS !== v >>> CALL_BITS) continue;
    const index = v & ((1 << CALL_BITS) - 1);
    if (index >= count) return null;
    if (Atomics.compareExchange(ctrl, CTRL.NEXT, v, v + 1) === v) return { index, list, count };
  }
}

const CLAIM_SOURCE = `
function claim(ctrl) {
  for (;;) {
    const v = Atomics.load(ctrl, C.NEXT);
    const list = Atomics.load(ctrl, C.LIST);
    const count = Atomics.load(ctrl, C.COUNT);
    if (Atomics.load(ctrl, C.NEXT) >>> BITS !== v >>> BITS) continue;
    const index = v & ((1 << BITS) - 1);
    if (index >= count) return null;
    if (Atomics.compareExchange(ctrl, C.NEXT, v, v + 1) === v) return { index, list, count };
  }
}`;

export const WORKER_SOURCE = `
"use strict";
const C = ${JSON.stringify(CTRL)};
const STRIDE = ${CALL_STRIDE};
const BITS = ${CALL_BITS};
const NAMES = ${JSON.stringify(KERNEL_NAMES)};
const SPIN = 2000;
const isNode = typeof process === "object" && !!(process.versions && process.versions.node) && typeof self === "undefined";
const port = isNode ? require("node:worker_threads").parentPort : self;
${CLAIM_SOURCE}
function run(msg) {
  const { module, memory } = msg;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = NAMES.map((n) => instance.exports[n]);
  const ctrl = new Int32Array(memory.buffer, 0, 1024);
  let gen = Atomics.load(ctrl, C.GENERATION);
  port.postMessage("ready");
  for (;;) {
    for (let i = 0; i < SPIN && Atomics.load(ctrl, C.GENERATION) === gen; i++);
    Atomics.wait(ctrl, C.GENERATION, gen);
    gen = Atomics.load(ctrl, C.GENERATION);
    if (Atomics.load(ctrl, C.QUIT)) break;
    for (let c = claim(ctrl); c !== null; c = claim(ctrl)) {
      try {
        // The memory may have grown since the last job: a fresh view per call.
        const call = new Int32Array(memory.buffer, c.list + c.index * STRIDE * 4, STRIDE);
        fns[call[0]](...call.subarray(1));
      } catch (e) {
        Atomics.store(ctrl, C.ERROR, 1);
        console.error("scan worker:", e);
      }
      if (Atomics.add(ctrl, C.DONE, 1) + 1 === c.count) Atomics.notify(ctrl, C.DONE);
    }
  }
  if (isNode) port.close(); else self.close();
}
if (isNode) port.once("message", run);
else self.onmessage = (e) => { self.onmessage = null; run(e.data); };
`;
