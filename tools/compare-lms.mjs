#!/usr/bin/env node
// Interleaved A/B/... of converted LM folders in one process: prefill and decode, the models taking turns
// round after round so a noisy machine slows them alike. Prints medians and ratios to the first folder.
// Usage: node tools/compare-lms.mjs [--rounds 4] [--prefill 512] [--decode 32] <lm dir>[#graph|#kernel] ...
// A "#graph" / "#kernel" suffix loads the folder with that scan form (LoadOptions.scan); the manifest's otherwise.
// (build first: npm run build)
import { parseArgs } from "node:util";
import { MambaLM } from "@cobra-ts/mamba-lm/node";

const { values, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "4" },
    prefill: { type: "string", default: "512" },
    decode: { type: "string", default: "32" },
    threads: { type: "string" },
  },
});
if (dirs.length === 0) {
  console.error("usage: compare-lms.mjs [--rounds N] [--prefill N] [--decode N] <lm dir>[#graph|#kernel]...");
  process.exit(1);
}
const rounds = Number(values.rounds);
const prefillN = Number(values.prefill);
const decodeN = Number(values.decode);
const threads = values.threads ? Number(values.threads) : undefined;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const lms = [];
for (const spec of dirs) {
  const [dir, scan] = spec.split("#");
  const t0 = performance.now();
  lms.push(await MambaLM.load(dir, { threads, scan }));
  console.error(`loaded ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const vocab = lms[0].dims.vocabSize;
const ids = Array.from({ length: prefillN }, (_, i) => (i * 7919) % Math.min(vocab, 50000));
const results = dirs.map(() => ({ prefill: [], step: [] }));
for (let r = 0; r < rounds; r++)
  for (const [i, lm] of lms.entries()) {
    let t = performance.now();
    let { logits, state } = await lm.prefill({ ids });
    results[i].prefill.push(performance.now() - t);
    const steps = [];
    for (let s = 0; s < decodeN; s++) {
      t = performance.now();
      ({ logits, state } = await lm.step(s % 1000, state));
      steps.push(performance.now() - t);
    }
    results[i].step.push(median(steps));
    if (!logits.data.every(Number.isFinite)) throw new Error(`${dirs[i]}: non-finite logits`);
  }
const base = results[0];
console.log(
  `| model | prefill ${prefillN} (ms, median of ${rounds}) | tok/s | decode step (ms) | tok/s | decode vs first |`,
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [i, dir] of dirs.entries()) {
  const p = median(results[i].prefill);
  const s = median(results[i].step);
  console.log(
    `| ${dir} | ${p.toFixed(0)} (${results[i].prefill.map((x) => x.toFixed(0)).join(", ")}) | ${((prefillN * 1000) / p).toFixed(1)} | ${s.toFixed(1)} (${results[i].step.map((x) => x.toFixed(0)).join(", ")}) | ${(1000 / s).toFixed(2)} | ${(median(base.step) / s).toFixed(2)}x |`,
  );
}
await Promise.all(lms.map((lm) => lm.release()));
