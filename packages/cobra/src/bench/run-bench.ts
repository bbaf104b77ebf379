import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { type Backend, InvalidArgumentError, type LanguageModel, type ScanForm } from "@cobra-ts/core";
import { MambaLM } from "@cobra-ts/mamba-lm/node";
import { createRgbImage, type RgbImage } from "@cobra-ts/vision-encoder";
import { throwIfBadFiles } from "../runtime/check-files.js";
import { Cobra } from "../runtime/load-node.js";
import { manifestWhere, verifyModelFolder } from "../runtime/load-parts.js";
import { nodeReader } from "../runtime/node-reader.js";
import { Xorshift32 } from "../synth/random-tensor.js";
import { headFlops, matmulFlopsPerPosition } from "./lm-cost.js";
import { bestLimits, probeMachine } from "./machine-limits.js";
import { findGarbageCollector, type PrefixRows, timeDecode, timePrefill } from "./measure-lm.js";
import { inspectModelFolder } from "./model-folder.js";
import type { BenchReport } from "./report.js";

export interface BenchOptions {
  backend?: Backend;
  /** onnxruntime intra-op threads (its default, one per core, when absent). */
  threads?: number;
  /** Prompt tokens after the image rows (default 32: about a short question in the zephyr template). */
  promptTokens?: number;
  /** New tokens to decode (default 256, the paper's protocol). */
  newTokens?: number;
  /** Image rows before the prompt for an LM-only model (default 729, Cobra's 27x27 patches). */
  imageRows?: number;
  /** An image file for a whole Cobra (default: a synthetic 640x480 picture). */
  image?: string;
  /** Largest image, width x height, to decode (Cobra.load's maxPixels). */
  maxPixels?: number;
  /** Where the LM's scans run (Cobra.load's and MambaLM.load's scan); default the model's own form. */
  scan?: ScanForm;
  /** Check every file's sha256 against cobra.json first, before anything is timed (whole Cobra folders). */
  verify?: boolean;
  /** Bandwidth probe buffer per thread (default 1 GiB). */
  bandwidthBytesPerThread?: number;
  /** GEMM probe size (default 2048). */
  gemmSize?: number;
  onStage?: (stage: string) => void;
}

const SEED = 7;
/** Bandwidth buffer per thread of the probe round before the model: 256 MiB, 8x a 32 MiB L3. */
const PRE_PROBE_BYTES = 2 ** 28;

/**
 * Measures, in one process: load, image encode, prefill of [image rows | prompt], greedy decode, time to first
 * token and memory, and the machine's limits (read bandwidth over all cores, fp32 GEMM in onnxruntime) before
 * and after the model; relates each speed to its limit. The large probe buffers are allocated only after the
 * peak RSS is read, so they never count as the model's.
 */
export async function runBench(dir: string, options: BenchOptions = {}): Promise<BenchReport> {
  const promptTokens = positive("promptTokens", options.promptTokens ?? 32, true);
  const newTokens = positive("newTokens", options.newTokens ?? 256);
  const stage = options.onStage ?? (() => {});
  const loadavgStart = loadavg()[0];
  const info = await inspectModelFolder(dir);
  if (options.verify) {
    const reader = nodeReader(dir);
    throwIfBadFiles(manifestWhere(reader), await verifyModelFolder(reader));
  }
  const session = { backend: options.backend, threads: options.threads, scan: options.scan };
  const probe = { gemmSize: options.gemmSize, backend: options.backend, threads: options.threads };
  const bytesPerThread = options.bandwidthBytesPerThread ?? 2 ** 30;
  // Probed before and after the model, and the better round kept (see bestLimits). The first round uses
  // smaller buffers (still 8x the last-level cache) so it stays under the model's own peak RSS.
  stage("machine limits");
  const before = await probeMachine({ ...probe, bytesPerThread: Math.min(bytesPerThread, PRE_PROBE_BYTES) });

  stage("load");
  const t0 = performance.now();
  const cobra =
    info.kind === "cobra" ? await Cobra.load(dir, { ...session, maxPixels: options.maxPixels }) : null;
  const lm: LanguageModel = cobra ? cobra.parts.lm : await MambaLM.load(dir, session);
  const loadMs = performance.now() - t0;
  const ids = promptIds(promptTokens, lm.vocabSize);
  const gc = await findGarbageCollector();
  let run: Awaited<ReturnType<typeof runModel>>;
  try {
    // Warm-up: first-run costs (kernel selection, arena set-up) are not what a prefill or a step costs.
    stage("warm-up");
    const warm = await timePrefill(lm, null, promptIds(8, lm.vocabSize));
    await timeDecode(lm, warm.state, warm.firstToken, 2, null);
    run = await runModel(lm, cobra, ids, newTokens, options, gc, stage);
  } finally {
    await (cobra ? cobra.release() : lm.release?.());
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;

  stage("machine limits");
  const limits = bestLimits([before, await probeMachine({ ...probe, bytesPerThread })]);

  const { prefill, decode } = run;
  const flopsPerPosition = matmulFlopsPerPosition(info.lmConfig);
  const prefillTokensPerS = prefill.positions / (prefill.ms / 1000);
  const prefillGflops =
    (prefill.positions * flopsPerPosition + headFlops(info.lmConfig)) / (prefill.ms / 1000) / 1e9;
  const decodeTokensPerS = decode.tokens / (decode.ms / 1000);
  const decodeLimit = (limits.bandwidthGbPerS * 1e9) / info.lmWeightBytes;
  const medianMs = median(decode.stepMs);
  return {
    model: dir,
    kind: info.kind,
    synth_preset: info.synthPreset,
    dtypes: info.dtypes,
    backend: options.backend ?? "cpu",
    threads: options.threads ?? null,
    scan: options.scan ?? null,
    weight_bytes: info.lmWeightBytes,
    model_weight_bytes: info.modelWeightBytes,
    bandwidth_gb_s: limits.bandwidthGbPerS,
    bandwidth_one_thread_gb_s: limits.oneThreadGbPerS,
    bandwidth_threads: limits.bandwidthThreads,
    gemm_gflops: limits.gemmGflops,
    gemm_size: limits.gemmSize,
    load_ms: loadMs,
    image_encode_ms: run.imageEncodeMs,
    prefill_positions: prefill.positions,
    prefix_rows: run.prefixRows,
    prompt_tokens: promptTokens,
    prefill_ms: prefill.ms,
    prefill_tokens_per_s: prefillTokensPerS,
    prefill_gemm_fraction: prefillGflops / limits.gemmGflops,
    prefill_gemm_limit_tokens_per_s: (limits.gemmGflops * 1e9) / flopsPerPosition,
    decode_tokens: decode.tokens,
    decode_tokens_per_s: decodeTokensPerS,
    decode_tokens_per_s_median: 1000 / medianMs,
    decode_ms_per_token_median: medianMs,
    decode_bandwidth_fraction: decodeTokensPerS / decodeLimit,
    decode_bandwidth_limit_tokens_per_s: decodeLimit,
    ttft_ms: run.ttftMs,
    peak_rss_bytes: peakRss,
    peak_rss_weight_ratio: peakRss / info.modelWeightBytes,
    decode_rss_max_bytes: decode.rssMax,
    rss_growth_bytes: decode.rssGrowth,
    rss_after_gc: gc !== null,
    machine: {
      cpus: availableParallelism(),
      cpu_model: cpus()[0]?.model ?? "unknown",
      memory_bytes: totalmem(),
      node: process.version,
      onnxruntime: onnxruntimeVersion(),
      loadavg_1m_start: loadavgStart,
      loadavg_1m_end: loadavg()[0],
    },
    date: new Date().toISOString(),
  };
}

/** One timed request: [encode image] -> prefill -> first token (TTFT), then the decode. */
async function runModel(
  lm: LanguageModel,
  cobra: Cobra | null,
  ids: number[],
  newTokens: number,
  options: BenchOptions,
  gc: (() => void) | null,
  stage: (s: string) => void,
) {
  let imageEncodeMs: number | null = null;
  let prefix: PrefixRows;
  // LM-only: random rows stand in for the projected image (made before the clock starts).
  const rows = cobra ? 0 : positive("imageRows", options.imageRows ?? 729, true);
  if (rows + ids.length === 0)
    throw new InvalidArgumentError("nothing to prefill: give image rows or prompt tokens");
  const fakeRows = cobra ? null : randomRows(rows, lm.dModel);
  const image = cobra ? await benchImage(options.image) : null;
  stage(cobra ? "image encode + prefill" : "prefill");
  const t0 = performance.now();
  if (cobra && image) {
    const encoded = await cobra.encodeImage(image);
    imageEncodeMs = performance.now() - t0;
    prefix = encoded.projected;
  } else prefix = fakeRows!;
  const prefill = await timePrefill(lm, prefix.shape[1] > 0 ? prefix : null, ids);
  const ttftMs = performance.now() - t0;
  stage("decode");
  const decode = await timeDecode(lm, prefill.state, prefill.firstToken, newTokens, gc);
  return { imageEncodeMs, prefixRows: prefix.shape[1], prefill, ttftMs, decode };
}

async function benchImage(path: string | undefined): Promise<RgbImage | string> {
  if (path) return path;
  // A smooth gradient with some texture: decoding and resizing cost what a photo's do.
  const image = createRgbImage(640, 480);
  for (let y = 0; y < 480; y++)
    for (let x = 0; x < 640; x++) {
      const i = 3 * (y * 640 + x);
      image.data.set([x % 256, y % 256, (x * y) % 256], i);
    }
  return image;
}

function randomRows(rows: number, dModel: number): PrefixRows {
  const rng = new Xorshift32(SEED);
  return { data: Float32Array.from({ length: rows * dModel }, () => rng.next()), shape: [1, rows, dModel] };
}

/** Fixed ids spread over the vocabulary (any id is as costly as another); never 0, the end of text. */
function promptIds(count: number, vocab: number): number[] {
  return Array.from({ length: count }, (_, i) => 1 + ((i * 7919 + 13) % (vocab - 1)));
}

function positive(name: string, n: number, allowZero = false): number {
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new InvalidArgumentError(
      `${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${n}`,
    );
  return n;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function onnxruntimeVersion(): string | null {
  try {
    return (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    return null;
  }
}
