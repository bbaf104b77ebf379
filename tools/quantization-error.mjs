#!/usr/bin/env node
// The quantization error of a reduced-precision LM against its fp32 original, teacher-forced: both models read
// the same token sequence one position at a time (a one-token prefill, then steps), and the next-token
// distributions at every position are compared in float64:
//   - KL divergence KL(P_fp32 || P_quantized), mean, median, 99th percentile and max over the positions
//     (llama.cpp's `llama-perplexity --kl-divergence` reports the same statistics against its F16 base);
//   - top-1 agreement: how often both pick the same most likely token;
//   - relative RMS logit error: sqrt(sum (l_q - l_fp32)^2 / sum l_fp32^2) over all positions and the vocabulary.
// The folders must hold the same weights at different dtypes (e.g. `cobra synth --preset P` and `cobra synth
// --preset P --dtype lm=q4`, or `cobra convert` with and without --dtype). The token sequence is fixed
// pseudo-random ids spread over the vocabulary (random-weight models have no text worth reading), the same
// every run. Usage:
//   node tools/quantization-error.mjs [--positions 256] [--threads N] <fp32 model dir> <other model dir>...
// (LM folders from `cobra synth --preset mamba-*`, or whole Cobra folders: their lm.onnx is used; build first.)
import { parseArgs } from "node:util";
import { MambaLM } from "@cobra-ts/mamba-lm/node";

const { values, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    positions: { type: "string", default: "256" },
    threads: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const positions = Number(values.positions);
const USAGE = "usage: quantization-error.mjs [--positions 256] [--threads N] <fp32 dir> <other dir>...";
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (dirs.length < 2 || !Number.isInteger(positions) || positions < 1) {
  console.error(USAGE);
  process.exit(2);
}
const threads = values.threads ? Number(values.threads) : undefined;

/**
 * Every position's logits (rows of vocab floats), teacher-forced through the ids `idsFor` gives for the model's
 * vocabulary; the ids come back with them.
 */
async function logitsAlong(dir, idsFor) {
  const lm = await MambaLM.load(dir, { threads });
  try {
    const ids = idsFor(lm.dims.vocabSize);
    const rows = [];
    let { logits, state } = await lm.prefill({ ids: ids.slice(0, 1) });
    rows.push(Float32Array.from(logits.data));
    for (let i = 1; i < ids.length; i++) {
      ({ logits, state } = await lm.step(ids[i], state));
      rows.push(Float32Array.from(logits.data));
    }
    return { rows, ids, vocab: lm.dims.vocabSize };
  } finally {
    await lm.release();
  }
}

/** log-softmax in float64. */
function logSoftmax(row) {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - logZ);
}

const argmax = (row) => row.reduce((best, x, i) => (x > row[best] ? i : best), 0);
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

// xorshift32 ids below the vocabulary, fixed seed.
function tokenIds(vocab) {
  let x = 2463534242;
  return Array.from({ length: positions }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % vocab;
  });
}

/** Loads every model in turn and prints the table. */
async function main() {
  const t0 = performance.now();
  const base = await logitsAlong(dirs[0], tokenIds);
  console.error(`${dirs[0]}: ${positions} positions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const baseLog = base.rows.map(logSoftmax);
  const baseTop = base.rows.map(argmax);

  console.log(`teacher-forced over ${positions} positions, against ${dirs[0]}`);
  console.log("");
  console.log("| model | KL mean | KL median | KL p99 | KL max | same top-1 | relative RMS logit error |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const dir of dirs.slice(1)) {
    const t = performance.now();
    const other = await logitsAlong(dir, () => base.ids);
    console.error(`${dir}: ${positions} positions in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (other.vocab !== base.vocab) throw new Error(`${dir}: vocabulary ${other.vocab}, not ${base.vocab}`);
    const kls = [];
    let same = 0;
    let errSq = 0;
    let refSq = 0;
    for (let p = 0; p < positions; p++) {
      const lp = baseLog[p];
      const lq = logSoftmax(other.rows[p]);
      let kl = 0;
      for (let v = 0; v < lp.length; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]);
      kls.push(kl);
      if (argmax(other.rows[p]) === baseTop[p]) same++;
      for (let v = 0; v < lp.length; v++) {
        errSq += (other.rows[p][v] - base.rows[p][v]) ** 2;
        refSq += base.rows[p][v] ** 2;
      }
    }
    if (!kls.every(Number.isFinite)) throw new Error(`${dir}: non-finite KL divergence`);
    const sorted = [...kls].sort((a, b) => a - b);
    const mean = kls.reduce((s, x) => s + x, 0) / kls.length;
    const e = (x) => x.toExponential(2);
    console.log(
      `| ${dir} | ${e(mean)} | ${e(quantile(sorted, 0.5))} | ${e(quantile(sorted, 0.99))} | ${e(sorted.at(-1))} | ${((100 * same) / positions).toFixed(1)}% | ${e(Math.sqrt(errSq / refSq))} |`,
    );
  }
}

// A missing folder or a foreign model is a typed error with a message; the stack would only hide it.
main().catch((e) => {
  console.error(`quant:error: ${e.name}: ${e.message}`);
  process.exit(1);
});
