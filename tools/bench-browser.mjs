#!/usr/bin/env node
// `npm run bench:browser` (not part of CI): a real-size Cobra in one headless Chromium tab, on onnxruntime-web's
// WASM backend through `@cobra-ts/cobra/browser`. Serves the model folder on 127.0.0.1 (cross-origin isolated,
// so onnxruntime gets WASM threads), `Cobra.load`s it from the URL, then streams one answer about one image,
// and prints: load time (download, then session creation), image encode time, TTFT, decode tok/s, the
// answer's token count, the parts' dtypes, the WASM heap (and each session's share), the JS heap, Chromium's
// memory, and the page's errors.
// A model that does not load (e.g. out of WASM memory) fails with the page's own error text.
//
// The model folder is written with `cobra synth` when missing (random weights, real shapes).
// Options (or environment variables):
//   --model BENCH_MODEL        folder (default: <tmp>/cobra-browser-bench/<preset>-<dtype>)
//   --preset BENCH_PRESET      cobra synth preset for a missing folder (default cobra-3.5b)
//   --dtype BENCH_DTYPE        its --dtype (default lm=q4,vision=q8: the WASM heap peaked at 3.41 GB of 4 GB at
//                              the default blocks; see BENCHMARKS.md "Real-size Cobra in a browser tab")
//   --tokenizer BENCH_TOKENIZER  a tokenizer folder for synth (default: the fixture set's GPT-NeoX one, if present)
//   --image BENCH_IMAGE        the image (default: the fixture set's chelsea.png)
//   --question BENCH_QUESTION  (default "What is this?")
//   --new-tokens BENCH_NEW_TOKENS  at most this many answer tokens (default 8: a quantized LM on WASM takes
//                              seconds a token)
//   --threads BENCH_THREADS    onnxruntime-web WASM threads (default: the page's logical cores)
//   --time-limit-s BENCH_TIME_LIMIT_S  the whole run, synth excluded (default 3600)
//   -h, --help                 this text
import { existsSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { fixtureSet } from "@cobra-ts/core/testing";
import { descendantPids, procBytes } from "./child-processes.mjs";
import { chromiumHelpers } from "./chromium-helpers.mjs";
import { synthWhenMissing } from "./synth-when-missing.mjs";

const env = process.env;
const OPTIONS = {
  model: { type: "string", default: env.BENCH_MODEL },
  preset: { type: "string", default: env.BENCH_PRESET ?? "cobra-3.5b" },
  dtype: { type: "string", default: env.BENCH_DTYPE ?? "lm=q4,vision=q8" },
  tokenizer: { type: "string", default: env.BENCH_TOKENIZER ?? join(fixtureSet(), "release/llm") },
  image: { type: "string", default: env.BENCH_IMAGE ?? join(fixtureSet(), "images/chelsea.png") },
  question: { type: "string", default: env.BENCH_QUESTION ?? "What is this?" },
  "new-tokens": { type: "string", default: env.BENCH_NEW_TOKENS ?? "8" },
  threads: { type: "string", default: env.BENCH_THREADS },
  "time-limit-s": { type: "string", default: env.BENCH_TIME_LIMIT_S ?? "3600" },
  help: { type: "boolean", short: "h" },
};
/** The comment at the top of this file, without its slashes: the usage. */
const usage = () => {
  const lines = readFileSync(import.meta.filename, "utf8")
    .split("\n")
    .slice(1);
  const end = lines.findIndex((line) => !line.startsWith("//"));
  return lines
    .slice(0, end)
    .map((line) => line.replace(/^\/\/ ?/, ""))
    .join("\n");
};
let parsed;
try {
  parsed = parseArgs({ options: OPTIONS });
} catch (e) {
  process.stderr.write(`bench:browser: ${e.message}\n\n${usage()}\n`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}
const o = parsed.values;
const MODEL =
  o.model ?? join(tmpdir(), "cobra-browser-bench", `${o.preset}-${o.dtype.replace(/[=,]/g, "-")}`);
const NEW_TOKENS = Number(o["new-tokens"]);
const THREADS = o.threads === undefined ? undefined : Number(o.threads);
const TIME_LIMIT_S = Number(o["time-limit-s"]);
for (const [name, v] of [
  ["--new-tokens", NEW_TOKENS],
  ["--threads", THREADS ?? 1],
  ["--time-limit-s", TIME_LIMIT_S],
])
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);

const log = (line) => process.stderr.write(`bench:browser: ${line}\n`);
const gb = (bytes) => `${(bytes / 1e9).toFixed(2)} GB`;

const tokenizer = existsSync(o.tokenizer) ? ["--tokenizer", o.tokenizer] : [];
synthWhenMissing(MODEL, ["--preset", o.preset, "--dtype", o.dtype, ...tokenizer], log);
const manifest = JSON.parse(readFileSync(join(MODEL, "cobra.json"), "utf8"));
const synthesized = join(MODEL, "synth.json");
const preset = existsSync(synthesized)
  ? JSON.parse(readFileSync(synthesized, "utf8")).preset
  : "not synthetic";
const dtypes = Object.entries(manifest.parts)
  .filter(([, part]) => part.dtype)
  .map(([slot, part]) => `${slot} ${part.dtype}`)
  .join(", ");
const weightBytes = (slot) => manifest.parts[slot]?.files.reduce((sum, f) => sum + f.size, 0) ?? 0;
const weights = Object.fromEntries(["encoder", "projector", "lm"].map((slot) => [slot, weightBytes(slot)]));

const { openChromiumPage, WASM_HEAP_HOOK } = await chromiumHelpers();

/**
 * Chromium's processes (this process's descendants): their summed PSS now (shared pages counted once), and the
 * largest peak RSS of one (the renderer's, with the model).
 */
function chromiumMemory() {
  let pss = 0;
  let hwm = 0;
  for (const pid of descendantPids()) {
    try {
      pss += procBytes(pid, "smaps_rollup", "Pss");
      hwm = Math.max(hwm, procBytes(pid, "status", "VmHWM"));
    } catch {} // gone meanwhile
  }
  return { pss, hwm };
}

const loads = [loadavg()[0]];
const image = readFileSync(o.image);
// WASM_HEAP_HOOK keeps every WebAssembly memory the page makes, to read onnxruntime's heap size.
const chromium = await openChromiumPage(new Map([["/image", image]]), {
  isolated: true,
  folders: { "/model": MODEL },
  initScript: WASM_HEAP_HOOK,
});
const version = chromium.browser.version();
let peakPss = 0;
const sampler = setInterval(() => {
  peakPss = Math.max(peakPss, chromiumMemory().pss);
}, 500);
let crashed = false;
chromium.page.on("crash", () => {
  crashed = true;
});
const limit = setTimeout(async () => {
  log(`over the ${TIME_LIMIT_S} s limit: closing Chromium`);
  await chromium.close().catch(() => {});
  process.exit(1);
}, TIME_LIMIT_S * 1000);

/**
 * The page's memory: the largest WebAssembly memory (onnxruntime's heap), the JS heap in use, and each
 * onnxruntime session created so far with the heap around its creation.
 */
const pageMemory = () =>
  chromium.page.evaluate(() => ({
    wasmHeap: Math.max(0, ...window.wasmHeapBytes()),
    jsHeap: performance.memory?.usedJSHeapSize ?? null,
    sessions: window.benchSessions ?? [],
  }));
const sessionLines = (sessions) =>
  sessions.map(
    (x) =>
      `  session ${x.name}: ${gb(x.bytes)} handed over; heap ${gb(x.heapBefore)} -> ${x.heapAfter === null ? "(not created)" : `${gb(x.heapAfter)} in ${(x.ms / 1000).toFixed(1)} s`}`,
  );

/** Fails the run with the page's own error text, its memory and console errors; closes Chromium first. */
async function fail(stage, error) {
  const memory = crashed ? null : await pageMemory().catch(() => null);
  log(
    `${stage} failed: ${crashed ? "the page crashed (Chromium's renderer died: out of memory?)" : ""}${error.message}`,
  );
  if (memory) {
    log(`WASM heap at the failure: ${gb(memory.wasmHeap)}`);
    for (const line of sessionLines(memory.sessions)) log(line);
  }
  log(`Chromium peak PSS (all processes, sampled): ${gb(peakPss)}`);
  if (chromium.errors.length) log(`page errors: ${chromium.errors.join("; ")}`);
  clearInterval(sampler);
  clearTimeout(limit);
  await chromium.close().catch(() => {});
  process.exit(1);
}

log(`Chromium ${version}: loading ${MODEL} (${dtypes})`);
const loaded = await chromium.page
  .evaluate(
    async ({ threads }) => {
      const heap = () => Math.max(0, ...window.wasmHeapBytes());
      // Each onnxruntime session: its file, the bytes handed to it, the heap before and after its creation
      // (the heap never shrinks, so "after" is the high-water mark so far).
      const sessions = [];
      window.benchSessions = sessions;
      const ort = await import("onnxruntime-web");
      const create = ort.InferenceSession.create;
      ort.InferenceSession.create = async (model, options) => {
        const files = options?.externalData ?? [];
        const entry = {
          name: files[0]?.path ?? "(one file)",
          bytes: (model.byteLength ?? 0) + files.reduce((sum, f) => sum + (f.data?.byteLength ?? 0), 0),
          heapBefore: heap(),
          heapAfter: null,
          ms: null,
        };
        sessions.push(entry);
        const t = performance.now();
        const session = await create.call(ort.InferenceSession, model, options);
        entry.ms = performance.now() - t;
        entry.heapAfter = heap();
        return session;
      };
      const { Cobra } = window.cobra;
      const cores = navigator.hardwareConcurrency;
      const t0 = performance.now();
      let lastByte = t0;
      let bytes = 0;
      const cobra = await Cobra.load(`${location.origin}/model/`, {
        wasmPaths: "/ort/",
        threads: threads ?? (crossOriginIsolated ? cores : undefined),
        onProgress: (p) => {
          lastByte = performance.now();
          if (p.loaded === p.total) bytes += p.total;
        },
      });
      const loadMs = performance.now() - t0;
      window.bench = { cobra };
      return {
        loadMs,
        downloadMs: lastByte - t0,
        bytes,
        backend: cobra.backend,
        isolated: crossOriginIsolated,
        cores,
        threads: ort.env.wasm.numThreads,
      };
    },
    { threads: THREADS },
  )
  .catch((e) => fail("load", e));
const afterLoad = await pageMemory();
const pssAfterLoad = chromiumMemory().pss;
log(
  `loaded in ${(loaded.loadMs / 1000).toFixed(1)} s; WASM heap ${gb(afterLoad.wasmHeap)}; asking "${o.question}"`,
);

const answer = await chromium.page
  .evaluate(
    async ({ question, maxNewTokens }) => {
      const { Cobra } = window.cobra;
      const { cobra } = window.bench;
      const image = await (await fetch("/image")).blob();
      // The parts timed from outside: the encode ends when the projector has run.
      const marks = {};
      const { encoder, projector } = cobra.parts;
      const timed = Cobra.fromParts(
        {
          ...cobra.parts,
          encoder: {
            numPatches: encoder.numPatches,
            featureDim: encoder.featureDim,
            encode: (rgb, options) => {
              marks.decoded = performance.now();
              return encoder.encode(rgb, options);
            },
          },
          projector: {
            project: async (features, options) => {
              const projected = await projector.project(features, options);
              marks.projected = performance.now();
              return projected;
            },
          },
        },
        cobra.settings,
      );
      const t0 = performance.now();
      const stream = timed.stream({ image, prompt: question, maxNewTokens });
      const at = [];
      let next = await stream.next();
      while (!next.done) {
        at.push(performance.now());
        next = await stream.next();
      }
      const result = next.value;
      return {
        encodeMs: marks.projected - t0,
        decodeImageMs: marks.decoded - t0,
        ttftMs: at[0] - t0,
        prefillMs: at[0] - marks.projected,
        decodeMs: at.at(-1) - at[0],
        tokens: result.ids.length,
        promptTokens: result.promptIds.length,
        stopReason: result.stopReason,
        text: result.text,
      };
    },
    { question: o.question, maxNewTokens: NEW_TOKENS },
  )
  .catch((e) => fail("answer", e));
const afterAnswer = await pageMemory();
loads.push(loadavg()[0]);
clearInterval(sampler);
clearTimeout(limit);
const rssPeakOne = chromiumMemory().hwm;
await chromium.close();

const decodeTokPerS = answer.tokens > 1 ? (answer.tokens - 1) / (answer.decodeMs / 1000) : null;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const out = [
  `model: ${MODEL} (${preset}; ${dtypes}); weights: ${gb(weights.encoder)} towers, ${gb(weights.projector)} projector, ${gb(weights.lm)} LM`,
  `Chromium ${version}, headless; onnxruntime-web WASM (${loaded.backend}), ${loaded.threads} thread(s), crossOriginIsolated ${loaded.isolated}, ${loaded.cores} logical cores`,
  `1-minute load average: ${loads.map((l) => l.toFixed(1)).join(" -> ")} (start -> end)`,
  `load: ${s(loaded.loadMs)} (download of ${gb(loaded.bytes)} ${s(loaded.downloadMs)}, then session creation ${s(loaded.loadMs - loaded.downloadMs)})`,
  `image encode: ${s(answer.encodeMs)} (${basename(o.image)}: decode ${s(answer.decodeImageMs)}, towers + projector ${s(answer.encodeMs - answer.decodeImageMs)})`,
  `TTFT: ${s(answer.ttftMs)} from the request (encode, then the LM's prefill of the image and ${answer.promptTokens} prompt tokens: ${s(answer.prefillMs)})`,
  `decode: ${answer.tokens} token(s) (stop: ${answer.stopReason}), ${decodeTokPerS === null ? "n/a" : `${decodeTokPerS.toFixed(3)} tok/s (${(1 / decodeTokPerS).toFixed(1)} s a token)`}`,
  `answer: ${JSON.stringify(answer.text)} to ${JSON.stringify(o.question)}`,
  `WASM heap: ${gb(afterLoad.wasmHeap)} after load, ${gb(afterAnswer.wasmHeap)} after the answer (of 4.29 GB addressable)`,
  ...sessionLines(afterLoad.sessions),
  `JS heap in use: ${afterLoad.jsHeap === null ? "n/a" : gb(afterLoad.jsHeap)} after load, ${afterAnswer.jsHeap === null ? "n/a" : gb(afterAnswer.jsHeap)} after the answer`,
  `Chromium memory: PSS of all its processes ${gb(pssAfterLoad)} after load, peak ${gb(peakPss)} (sampled every 0.5 s); largest peak RSS of one process ${gb(rssPeakOne)}`,
  `page errors: ${chromium.errors.length ? chromium.errors.join("; ") : "none"}`,
];
process.stdout.write(`${out.join("\n")}\n`);
process.stdout.write(
  `${JSON.stringify({ model: MODEL, preset, dtypes, weights, version, loads, loaded, answer, decodeTokPerS, afterLoad, afterAnswer, pssAfterLoad, peakPss, rssPeakOne, errors: chromium.errors })}\n`,
);
