// Where the LM's weights go in onnxruntime-web, in headless Chromium: its WebGPU provider uploads the initializers
// it runs from the external data straight into GPU buffers (onnxruntime's external data loader), so they never
// pass through the wasm32 heap, whose 4 GB is the hard limit of a WASM model; its WASM provider copies every one
// into that heap. A synthetic fp32 LM of 0.24 GB (2^30 bytes; preset test-wide: mostly the tied embedding / head) is loaded
// through the browser entry on both backends, each in a fresh Chromium with a hook that keeps onnxruntime's
// WebAssembly.Memory (wasm-heap-hook.ts). The wasm load shows the measurement sees weights in the heap; the
// webgpu one must leave it far below them. (fp16 weights do pass through the heap on WebGPU, widened to fp32 by
// onnxruntime at load: BENCHMARKS.md, "Weights and the WASM heap".) Skipped (with a message) only where
// /usr/bin/chromium is absent.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeModel } from "../../src/synth/synthesize.js";
import { CHROMIUM, haveChromium, openChromiumPage } from "./chromium-page.js";
import { type LmHeapUse, measureLmHeap, WASM_HEAP_HOOK } from "./wasm-heap-hook.js";

if (!haveChromium)
  console.warn(`SKIPPED the WASM heap in Chromium: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)("LM weights and onnxruntime-web's WASM heap (headless Chromium)", () => {
  let work = "";
  let weightBytes = 0;
  let out = "";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cobra-wasm-heap-"));
    out = join(work, "lm");
    ({ weightBytes } = await synthesizeModel("test-wide", { out }));
  }, 120_000);
  afterAll(() => rm(work, { recursive: true, force: true }));

  const measure = async (backend: "wasm" | "webgpu"): Promise<LmHeapUse> => {
    const chromium = await openChromiumPage(new Map(), {
      folders: { "/m": out },
      webgpu: backend === "webgpu",
      initScript: WASM_HEAP_HOOK,
    });
    try {
      return await measureLmHeap(chromium.page, "/m/", backend);
    } finally {
      await chromium.close();
    }
  };

  it("WASM copies the weights into its heap, WebGPU uploads them past it", async () => {
    const wasm = await measure("wasm");
    const webgpu = await measure("webgpu");
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(3)} GB`;
    console.log(
      `weights ${gb(weightBytes)}; WASM heap after load / after a step: wasm ${gb(wasm.afterLoad)} / ` +
        `${gb(wasm.afterStep)}, webgpu ${gb(webgpu.afterLoad)} / ${gb(webgpu.afterStep)}`,
    );
    expect(wasm.afterLoad).toBeGreaterThan(weightBytes);
    // What stays on the CPU side: the graph, the Scans (they run on the CPU provider), the small tensors folded at
    // load (A = -exp(A_log), the conv weights' reshape), shape constants and onnxruntime's start-up heap (16 MB).
    expect(webgpu.afterLoad).toBeLessThan(weightBytes / 3);
    expect(webgpu.afterStep).toBeLessThan(weightBytes / 3);
    expect(webgpu.token).toBe(wasm.token);
  }, 600_000);
});
