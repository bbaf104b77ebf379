#!/usr/bin/env node
// Where an LM's weights end up in headless Chromium: the size of onnxruntime-web's WASM heap (its wasm32 memory,
// which only grows and cannot pass 4 GB) after loading the LM part of a model folder on --backend wasm and on
// webgpu (onnxruntime-web/webgpu; SwiftShader here, so the "GPU" buffers live in Chromium's GPU process), then
// after a 4-id prefill and one decode step; and the peak resident memory of the page's renderer and of the GPU
// process while it ran (sampled from /proc every 200 ms). One fresh Chromium per backend, one after the other.
// Usage: node tools/browser-wasm-heap.mjs [--backend wasm,webgpu] [--max-rss-gb 12] <model dir> ...
// (a converted Cobra folder, or an LM-only one from `cobra synth --preset mamba-*`; needs /usr/bin/chromium)
import { readFileSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { descendantPids, procBytes } from "./child-processes.mjs";
import { chromiumHelpers } from "./chromium-helpers.mjs";

const { values, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: "string", default: "wasm,webgpu" },
    // A guard for a shared machine: Chromium is closed when all its processes together pass this.
    "max-rss-gb": { type: "string", default: "12" },
  },
});
const backends = values.backend.split(",");
const maxRss = Number(values["max-rss-gb"]) * 2 ** 30;
if (dirs.length === 0 || !backends.every((b) => ["webgpu", "wasm"].includes(b))) {
  console.error("usage: browser-wasm-heap.mjs [--backend wasm,webgpu] <model dir>...");
  process.exit(1);
}

const { openChromiumPage, measureLmHeap, WASM_HEAP_HOOK } = await chromiumHelpers();

/** Chromium's processes (descendants of this one) by --type (the browser itself: "browser"), their RSS in bytes. */
function chromiumRss() {
  const byType = {};
  for (const pid of descendantPids()) {
    try {
      // Chromium rewrites its children's command lines as one string with spaces.
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split(/[\0 ]/);
      if (!/chrom/.test(cmd[0])) continue;
      const type = cmd.find((a) => a.startsWith("--type="))?.slice(7) ?? "browser";
      byType[type] = (byType[type] ?? 0) + procBytes(pid, "status", "VmRSS");
    } catch {} // gone meanwhile
  }
  return byType;
}

const gb = (bytes) => (bytes / 2 ** 30).toFixed(2);
for (const dir of dirs) {
  let weights = 0;
  for (const name of await readdir(dir)) {
    if (name.endsWith(".data")) weights += (await stat(join(dir, name))).size;
  }
  console.log(`${dir}: ${gb(weights)} GB of external data`);
  for (const backend of backends) {
    const chromium = await openChromiumPage(new Map(), {
      folders: { "/m": dir },
      webgpu: backend === "webgpu",
      initScript: WASM_HEAP_HOOK,
    });
    const peak = {};
    let stop;
    const overLimit = new Promise((_, reject) => (stop = reject));
    const sampler = setInterval(() => {
      const now = chromiumRss();
      for (const [type, rss] of Object.entries(now)) peak[type] = Math.max(peak[type] ?? 0, rss);
      const total = Object.values(now).reduce((a, b) => a + b, 0);
      if (total > maxRss) stop(new Error(`stopped: Chromium's RSS reached ${gb(total)} GB (--max-rss-gb)`));
    }, 200);
    try {
      const r = await Promise.race([measureLmHeap(chromium.page, "/m/", backend), overLimit]);
      clearInterval(sampler);
      const rss = Object.entries(peak)
        .filter(([, v]) => v > 2 ** 26)
        .map(([type, v]) => `${type} ${gb(v)}`)
        .join(", ");
      console.log(
        `  ${backend.padEnd(6)} load ${(r.loadMs / 1000).toFixed(1)} s; WASM heap after load ${gb(r.afterLoad)} GB, ` +
          `after prefill + step ${gb(r.afterStep)} GB (step ${(r.stepMs / 1000).toFixed(1)} s, argmax ${r.token}); ` +
          `peak RSS GB: ${rss}`,
      );
    } catch (e) {
      const rss = Object.entries(peak).map(([type, v]) => `${type} ${gb(v)}`);
      console.log(
        `  ${backend.padEnd(6)} failed: ${e.message.split("\n")[0]}; peak RSS GB: ${rss.join(", ")}`,
      );
    } finally {
      // onnxruntime's warning that shape ops and the Scans run on the CPU provider is expected.
      const errors = chromium.errors.filter((e) => !e.includes("VerifyEachNodeIsAssignedToAnEp"));
      if (errors.length) console.log(`  page errors: ${errors.join("; ")}`);
      clearInterval(sampler);
      await chromium.close();
    }
  }
}
