#!/usr/bin/env node
// scan "graph" vs scan "kernel" with the LM on onnxruntime-web (--backend webgpu, the default, or wasm), in one
// headless Chromium page (WebGPU there is SwiftShader, a CPU emulation, so its figures say nothing about a real GPU;
// on wasm the kernel form's scans run in the WASM SIMD kernel). Each folder is
// loaded in both forms (the LM part alone; towers and projector are not loaded), then the forms take turns,
// round after round: a prefill of --prefill ids, then --decode steps. The first round compiles the shaders and is
// left out of the medians. Prints medians and kernel/graph ratios.
// Usage: node tools/browser-scan-forms.mjs [--backend webgpu|wasm] [--rounds 3] [--prefill 64] [--decode 8] <model dir> ...
// (a converted Cobra folder, or an LM-only one from `cobra synth --preset mamba-*`; needs /usr/bin/chromium)
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromiumHelpers } from "./chromium-helpers.mjs";

const { values, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: "string", default: "webgpu" },
    rounds: { type: "string", default: "3" },
    prefill: { type: "string", default: "64" },
    decode: { type: "string", default: "8" },
  },
});
if (dirs.length === 0 || !["webgpu", "wasm"].includes(values.backend)) {
  console.error(
    "usage: browser-scan-forms.mjs [--backend webgpu|wasm] [--rounds N] [--prefill N] [--decode N] <model dir>...",
  );
  process.exit(1);
}

const { openChromiumPage } = await chromiumHelpers();

const served = new Map();
for (const [i, dir] of dirs.entries())
  for (const name of await readdir(dir)) served.set(`/m${i}/${name}`, await readFile(join(dir, name)));
const chromium = await openChromiumPage(served, { webgpu: values.backend === "webgpu" });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  for (const [i, dir] of dirs.entries()) {
    const r = await chromium.page.evaluate(
      async ({ folder, backend, rounds, prefillN, decodeN }) => {
        const { loadModelParts, urlReader, BROWSER_PART_LOADERS } = window.cobra;
        const ort =
          backend === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web");
        ort.env.wasm.wasmPaths = "/ort/";
        const load = async (scan) => {
          const t0 = performance.now();
          const { parts } = await loadModelParts(urlReader(`${location.origin}${folder}/`), {
            loaders: BROWSER_PART_LOADERS,
            backend,
            defaultBackend: "wasm",
            scan,
            // Only the LM: stand-ins for the slots this does not time.
            parts: { encoder: {}, projector: {} },
            runtimeFor: async (_part, backend) => ({ backend, ort }),
          });
          return { lm: parts.lm, loadMs: performance.now() - t0 };
        };
        const forms = { graph: await load("graph"), kernel: await load("kernel") };
        const vocab = forms.graph.lm.vocabSize;
        const ids = Array.from({ length: prefillN }, (_, k) => (k * 7919) % Math.min(vocab, 50000));
        const times = { graph: { prefill: [], step: [] }, kernel: { prefill: [], step: [] } };
        const argmax = (t) => t.data.reduce((best, v, k, a) => (v > a[best] ? k : best), 0);
        const tokens = { graph: [], kernel: [] };
        for (let round = 0; round < rounds; round++)
          for (const form of ["graph", "kernel"]) {
            const { lm } = forms[form];
            let t = performance.now();
            let out = await lm.prefill({ ids: [ids] });
            if (round > 0) times[form].prefill.push(performance.now() - t);
            let next = argmax(out.logits);
            if (round === 0) tokens[form].push(next);
            for (let s = 0; s < decodeN; s++) {
              t = performance.now();
              out = await lm.step(next, out.state);
              if (round > 0) times[form].step.push(performance.now() - t);
              next = argmax(out.logits);
              if (round === 0) tokens[form].push(next);
            }
          }
        const kernel = forms.kernel.lm.scanKernel;
        // Whether the kernel could share onnxruntime's device (it needs 10 storage buffers per stage).
        const ortBuffers =
          backend === "webgpu" ? (await ort.env.webgpu.device).limits.maxStorageBuffersPerShaderStage : null;
        await forms.graph.lm.release();
        await forms.kernel.lm.release();
        return {
          kernel,
          ortBuffers,
          load: { graph: forms.graph.loadMs, kernel: forms.kernel.loadMs },
          times,
          sameTokens: JSON.stringify(tokens.graph) === JSON.stringify(tokens.kernel),
        };
      },
      {
        folder: `/m${i}`,
        backend: values.backend,
        rounds: Number(values.rounds),
        prefillN: Number(values.prefill),
        decodeN: Number(values.decode),
      },
    );
    const p = { graph: median(r.times.graph.prefill), kernel: median(r.times.kernel.prefill) };
    const s = { graph: median(r.times.graph.step), kernel: median(r.times.kernel.step) };
    const ms = (x) => x.toFixed(1);
    console.log(
      `${dir} on ${values.backend} (kernel form's scan kernel: ${r.kernel}; same greedy tokens: ${r.sameTokens})`,
    );
    if (r.ortBuffers !== null)
      console.log(
        `  onnxruntime's GPUDevice allows ${r.ortBuffers} storage buffers per stage (the kernel shares it at >= 10)`,
      );
    console.log(`  load ms: graph ${ms(r.load.graph)}, kernel ${ms(r.load.kernel)}`);
    console.log(
      `  prefill ${values.prefill} ms per timed round: graph ${r.times.graph.prefill.map(ms).join(", ")}; kernel ${r.times.kernel.prefill.map(ms).join(", ")}`,
    );
    console.log(
      `  prefill median: graph ${ms(p.graph)}, kernel ${ms(p.kernel)} (kernel/graph ${(p.kernel / p.graph).toFixed(2)}x)`,
    );
    console.log(
      `  decode step median of ${r.times.graph.step.length}: graph ${ms(s.graph)}, kernel ${ms(s.kernel)} (kernel/graph ${(s.kernel / s.graph).toFixed(2)}x)`,
    );
  }
  if (chromium.errors.length) console.log(`page errors: ${chromium.errors.join("; ")}`);
} finally {
  await chromium.close();
}
