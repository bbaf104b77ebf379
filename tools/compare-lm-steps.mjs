#!/usr/bin/env node
// Decode steps (positions = 1) of converted LM graphs, the graphs taking turns step by step in one process, at
// any batch size: for graph changes that keep the LM's inputs and outputs. Every graph gets the same feeds (a
// fixed pseudo-random embedding row and states), so their outputs must agree: the largest difference to the
// first graph is printed. Reports wall time and this process's CPU time a step (CPU time moves less than wall
// time when other processes share the cores; run with --threads 1 for that), medians and the median of the
// per-turn ratios to the first graph. The graphs take turns in alternating order. The session loaded first runs
// 5-20% slower than later copies of the same graph (BENCHMARKS.md, "A decode step without the Scan op"): list
// the baseline twice and read the second copy, and swap the others' order in a second run.
// Usage: node tools/compare-lm-steps.mjs [--batch 1] [--steps 60] [--threads N] <lm dir or .onnx> ...
// (build first: npm run build)
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ortFor } from "@cobra-ts/core";

const { values, positionals: models } = parseArgs({
  allowPositionals: true,
  options: {
    batch: { type: "string", default: "1" },
    steps: { type: "string", default: "60" },
    threads: { type: "string" },
  },
});
if (models.length === 0) {
  console.error("usage: compare-lm-steps.mjs [--batch N] [--steps N] [--threads N] <lm dir or .onnx>...");
  process.exit(1);
}
const batch = Number(values.batch);
const steps = Number(values.steps);
const warmup = 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ort = await ortFor();
const graphPath = async (p) => ((await stat(p)).isDirectory() ? join(p, "lm.onnx") : p);
const sessions = [];
for (const m of models)
  sessions.push(
    await ort.InferenceSession.create(await graphPath(m), {
      graphOptimizationLevel: "all",
      ...(values.threads ? { intraOpNumThreads: Number(values.threads) } : {}),
    }),
  );

const feeds = {};
for (const meta of sessions[0].inputMetadata) {
  const shape = meta.shape.map((d) => (typeof d === "number" ? d : d === "batch" ? batch : 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => 0.1 * Math.sin(i * 0.7 + meta.name.length));
  feeds[meta.name] = new ort.Tensor("float32", data, shape);
}

const wall = models.map(() => []);
const cpu = models.map(() => []);
const firstOutputs = [];
// The order reverses every turn: the graph that runs second in a turn was measured up to 1.2x faster than the
// same graph run first (whatever the reason), which would otherwise pass for a difference between graphs.
for (let s = 0; s < warmup + steps; s++)
  for (const k of s % 2 === 0 ? sessions.keys() : [...sessions.keys()].reverse()) {
    const session = sessions[k];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await session.run(feeds);
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (s === 0) firstOutputs.push(out);
    if (s >= warmup) {
      wall[k].push(t);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }

const maxDiff = (a, b) => {
  let m = 0;
  for (const name of Object.keys(a))
    for (let i = 0; i < a[name].data.length; i++)
      m = Math.max(m, Math.abs(a[name].data[i] - b[name].data[i]));
  return m;
};
const ratio = (xs, k) => median(xs[0].map((x, i) => x / xs[k][i]));
console.log(
  `| graph | batch ${batch} step, wall (ms, median of ${steps}) | first/this | CPU (ms) | first/this | max abs diff to first |`,
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [k, m] of models.entries())
  console.log(
    `| ${m} | ${median(wall[k]).toFixed(1)} (min ${Math.min(...wall[k]).toFixed(1)}) | ${ratio(wall, k).toFixed(3)}x | ${median(cpu[k]).toFixed(1)} | ${ratio(cpu, k).toFixed(3)}x | ${maxDiff(firstOutputs[0], firstOutputs[k])} |`,
  );
await Promise.all(sessions.map((s) => s.release()));
