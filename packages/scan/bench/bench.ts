/**
 * Times every kernel on Mamba-2.8B shapes (d 5120, N 16, conv width 4, batch 1) in one run and prints the
 * ratio to the TypeScript reference: the reference, the wasm SIMD kernel on 1 and on all threads, the ONNX
 * emitters in onnxruntime-node (standard ops and contrib ops), and the WebGPU kernel in headless Chromium
 * where /usr/bin/chromium exists (SwiftShader, i.e. the CPU, on machines without a GPU).
 * Flags: --json (one JSON object per line: {impl, op, d, N, L, ms, ratio_vs_reference}), --quick,
 * --no-webgpu, --no-onnx.
 */
import { existsSync } from "node:fs";
import { createOnnxKernel } from "../src/onnx/onnx-kernel.js";
import { referenceKernel } from "../src/reference.js";
import type { ScanKernel } from "../src/types.js";
import { createWasmKernel } from "../src/wasm/wasm-kernel.js";
import { benchOps, d, N, type Row, reps, time, W } from "./ops.js";
import { runWebGpuBench } from "./webgpu-runner.js";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const refMs = new Map<string, number>();

function print(row: Row, work: number): void {
  const ref = refMs.get(`${row.op}/${row.L}`);
  row.ratio_vs_reference = row.impl === "reference" ? 1 : ref ? ref / row.ms : null;
  if (json) {
    console.log(JSON.stringify(row));
    return;
  }
  const t = row.ms >= 1 ? `${row.ms.toFixed(2)} ms` : `${(row.ms * 1000).toFixed(1)} us`;
  const thr = row.op.startsWith("causal") ? "" : ((work / row.ms) * 1000).toExponential(2);
  const ratio = row.ratio_vs_reference ? `${row.ratio_vs_reference.toFixed(1)}x` : "";
  console.log(
    `${row.impl.padEnd(28)} ${row.op.padEnd(21)} ${String(row.L).padStart(4)} ${t.padStart(11)}   ${thr.padEnd(12)} ${ratio}`,
  );
}

async function main(): Promise<void> {
  const wasm1 = await createWasmKernel({ threads: 1 });
  const wasmN = await createWasmKernel();
  const kernels: [string, ScanKernel, boolean][] = [
    ["reference", referenceKernel, true],
    ["wasm-simd-1t", wasm1, false],
  ];
  if (wasmN.threads > 1) kernels.push([`wasm-simd-${wasmN.threads}t`, wasmN, false]);
  if (!process.argv.includes("--no-onnx")) {
    kernels.push(["onnx-standard (ort-node cpu)", createOnnxKernel({ form: "standard" }), true]);
    kernels.push(["onnx-contrib (ort-node cpu)", createOnnxKernel({ form: "contrib" }), true]);
  }
  if (!json) {
    console.log(`cobra-ts scan bench: d ${d}, N ${N}, conv width ${W}, batch 1 (Mamba-2.8B layer shapes)`);
    console.log(
      "anchor (this kind of machine): llama.cpp C kernel, 2 threads: 94 ms at L 512, 185 us at L 1",
    );
    console.log("throughput: channel x state x token per second (scan ops)");
    console.log(
      `${"impl".padEnd(28)} ${"op".padEnd(21)} ${"L".padStart(4)} ${"time".padStart(11)}   ${"throughput".padEnd(12)} vs reference`,
    );
  }
  const ops = benchOps();
  for (const o of ops) {
    for (const [impl, k, slow] of kernels) {
      const r = reps(o, slow, quick);
      const ms = await time(() => o.run(k), r.rounds, r.inner, r.budgetMs);
      if (impl === "reference") refMs.set(`${o.op}/${o.L}`, ms);
      print({ impl, op: o.op, d, N, L: o.L, ms, ratio_vs_reference: null }, o.work);
    }
  }
  for (const [, k] of kernels) k.dispose();
  if (process.argv.includes("--no-webgpu")) return;
  if (!existsSync(CHROMIUM)) {
    if (!json) console.log(`webgpu: skipped (${CHROMIUM} absent)`);
    return;
  }
  const { adapter, rows } = await runWebGpuBench(CHROMIUM, quick);
  for (const row of rows) {
    row.impl = `${row.impl} (${adapter})`;
    print(row, ops.find((o) => o.op === row.op && o.L === row.L)?.work ?? 0);
  }
}

await main();
