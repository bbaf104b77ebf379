// The bench's WebGPU page (bundled and driven by bench.ts through headless Chromium): times the WebGPU kernel
// through the ScanKernel API (upload, dispatch, read back) and with its buffers resident on the GPU (encode,
// submit, wait: what a model that stays on the GPU pays).
import type { GpuBuffer } from "../src/webgpu/gpu-types.js";
import { WebGpuScanKernel } from "../src/webgpu/webgpu-kernel.js";
import { scanInputs } from "../test/random.js";
import { benchOps, d, N, type Row, reps, time } from "./ops.js";

async function run(quick: boolean): Promise<{ adapter: string; rows: Row[] }> {
  const k = await WebGpuScanKernel.create();
  const rows: Row[] = [];
  const impl = "webgpu";
  for (const o of benchOps()) {
    const r = reps(o, true, quick);
    rows.push({
      impl,
      op: o.op,
      d,
      N,
      L: o.L,
      ms: await time(() => o.run(k), r.rounds, r.inner, r.budgetMs),
      ratio_vs_reference: null,
    });
  }
  // GPU-resident: inputs uploaded once, only the dispatch is timed.
  const dev = k.device;
  const buf = (data: Float32Array): GpuBuffer => {
    const b = dev.createBuffer({ size: data.byteLength, usage: 0x80 | 0x8 | 0x4, mappedAtCreation: true });
    new Float32Array(b.getMappedRange()).set(data);
    b.unmap();
    return b;
  };
  for (const L of [1024, 1]) {
    const s = scanInputs(1, d, L, N, 1);
    const b = {
      u: buf(s.u.data),
      delta: buf(s.delta.data),
      A: buf(s.A.data),
      B: buf(s.B.data),
      C: buf(s.C.data),
      D: buf(s.D.data),
      z: buf(s.z.data),
      deltaBias: buf(s.deltaBias.data),
      state: buf(s.initialState.data),
      out: buf(new Float32Array(d * L)),
    };
    const dispatch = async () => {
      const enc = dev.createCommandEncoder();
      await k.encodeSelectiveScan(
        enc,
        b,
        { batch: 1, d, L, N, groups: 1 },
        { deltaSoftplus: true, hasInitialState: true },
      );
      dev.queue.submit([enc.finish()]);
      await dev.queue.onSubmittedWorkDone();
    };
    const r = reps({ op: "", L, work: 0, run: async () => {} }, true, quick);
    rows.push({
      impl: "webgpu-resident",
      op: "selectiveScan",
      d,
      N,
      L,
      ms: await time(dispatch, r.rounds, r.inner, r.budgetMs),
      ratio_vs_reference: null,
    });
    for (const x of Object.values(b)) x.destroy();
  }
  k.dispose();
  return { adapter: k.adapterDescription, rows };
}

(globalThis as { runBench?: typeof run }).runBench = run;
