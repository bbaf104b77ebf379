#!/usr/bin/env node
// `npm run bench:serve`: a bounded load test of `cobra serve` on loopback with the official openai client.
// Starts the built CLI on 127.0.0.1 against a synthetic model of real shapes (writing it with `cobra synth`
// when the folder is missing), then measures:
//   - aggregate generated tokens/s with 1, 2, 4 and 8 concurrent streams (questions about one image whose
//     state is cached after the warm-up, so the figure is decode, not vision);
//   - TTFT p50/p99 over those streamed requests;
//   - a cold question about a new image against a follow-up question about it (its state cached).
// Bounded: 15 throughput requests a round + 2 x COLD_IMAGES timed ones + 1 warm-up, each of MAX_TOKENS tokens, and a
// global time limit after which the server is killed and the script fails.
// Environment: BENCH_MODEL (folder), BENCH_PRESET (cobra synth preset, default cobra-mamba-370m),
// BENCH_MAX_TOKENS (default 48), BENCH_COLD_IMAGES (default 3; 0 skips them), BENCH_ROUNDS (default 2: sweeps of 1, 2, 4, 8
// streams, every other one reversed), BENCH_TIME_LIMIT_S (default 1800).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import sharp from "sharp";
import { synthWhenMissing } from "./synth-when-missing.mjs";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "packages/cobra/dist/cli.js");
const PRESET = process.env.BENCH_PRESET ?? "cobra-mamba-370m";
const MODEL = process.env.BENCH_MODEL ?? join(tmpdir(), "cobra-serve-bench", PRESET);
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 48);
const COLD_IMAGES = Number(process.env.BENCH_COLD_IMAGES ?? 3);
const TIME_LIMIT_S = Number(process.env.BENCH_TIME_LIMIT_S ?? 1800);
const STREAMS = [1, 2, 4, 8];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const log = (line) => process.stderr.write(`bench:serve: ${line}\n`);

if (!existsSync(CLI)) throw new Error("packages/cobra/dist/cli.js is missing: run `npm run build` first");
synthWhenMissing(MODEL, ["--preset", PRESET], log);

/** A 640x480 noise PNG; each seed gives other bytes, so another cache key and another vision pass. */
async function image(seed) {
  const pixels = Buffer.alloc(640 * 480 * 3);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pixels[i] = x & 255;
  }
  const png = await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

const server = spawn(process.execPath, [CLI, "serve", "--model", MODEL, "--port", "0", "--max-batch", "8"], {
  stdio: ["ignore", "inherit", "pipe"],
});
const limit = setTimeout(() => {
  log(`over the ${TIME_LIMIT_S} s limit: stopping`);
  server.kill("SIGKILL");
  process.exit(1);
}, TIME_LIMIT_S * 1000);
const url = await new Promise((resolve, reject) => {
  let text = "";
  let address = "";
  server.stderr.setEncoding("utf8");
  server.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    text += chunk;
    address ||= /listening on (http:\/\/[\d.]+:\d+)/.exec(text)?.[1] ?? "";
    if (address && /ready, serving/.test(text)) resolve(address);
  });
  server.on("exit", (code) => reject(new Error(`cobra serve exited with ${code} before it was ready`)));
});
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "bench", maxRetries: 0, timeout: 600_000 });

/** One streamed request: its time to first token, its end, and its token count (from usage). */
async function ask(imageUrl, question, previous) {
  const messages = [
    {
      role: "user",
      content: [
        { type: "image_url", image_url: { url: imageUrl } },
        { type: "text", text: previous ? previous.question : question },
      ],
    },
    ...(previous
      ? [
          { role: "assistant", content: previous.text },
          { role: "user", content: question },
        ]
      : []),
  ];
  const t0 = performance.now();
  let first = 0;
  let text = "";
  let tokens = 0;
  const stream = await client.chat.completions.create({
    model: PRESET,
    messages,
    max_tokens: MAX_TOKENS,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content !== undefined && first === 0) first = performance.now();
    text += chunk.choices[0]?.delta.content ?? "";
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return {
    start: t0,
    ttft: (first || performance.now()) - t0,
    end: performance.now(),
    tokens,
    question,
    text,
  };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const median = (values) => percentile(values, 50);
/** The middle value, or the mean of the middle two (the ratios of 2 rounds). */
const middle = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const h = sorted.length >> 1;
  return sorted.length % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
};

try {
  const shared = await image(1);
  log("warm-up (the shared image's vision pass, then cached)");
  await ask(shared, "Describe the image.");

  const rows = [];
  const ttfts = [];
  // Rounds alternate the order (1, 2, 4, 8 then 8, 4, 2, 1, ...): on a shared machine the load drifts, so the
  // ratios are taken within a round and their median reported.
  const order = Array.from({ length: ROUNDS }, (_, r) => (r % 2 === 0 ? STREAMS : [...STREAMS].reverse()));
  const loads = [];
  for (const [round, n] of order.flatMap((streams, r) => streams.map((n) => [r, n]))) {
    if (n === order[round][0]) loads.push(loadavg()[0]);
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => ask(shared, `Question ${i + 1} of ${n}: what is in the picture?`)),
    );
    const tokens = answers.reduce((sum, a) => sum + a.tokens, 0);
    const seconds =
      (Math.max(...answers.map((a) => a.end)) - Math.min(...answers.map((a) => a.start))) / 1000;
    ttfts.push(...answers.map((a) => a.ttft));
    // Decode rate: each stream's tokens after its first over the time they took, summed over the streams
    // (they overlap: the batch steps them together). The wall-clock figure also holds every prefill.
    const decode = answers.reduce((sum, a) => sum + (a.tokens - 1) / ((a.end - a.start - a.ttft) / 1000), 0);
    rows.push({ round, streams: n, tokens, seconds, tokPerS: tokens / seconds, decodeTokPerS: decode });
    log(
      `round ${round + 1}, ${n} streams: ${tokens} tokens in ${seconds.toFixed(2)} s = ${(tokens / seconds).toFixed(1)} tok/s; decode ${decode.toFixed(1)} tok/s`,
    );
  }

  loads.push(loadavg()[0]);
  const cold = [];
  const cached = [];
  for (let i = 0; i < COLD_IMAGES; i++) {
    const fresh = await image(100 + i);
    const first = await ask(fresh, "What is in this image?");
    const follow = await ask(fresh, "And what colour is it?", first);
    cold.push(first.ttft);
    cached.push(follow.ttft);
    log(
      `image ${i + 1}: cold TTFT ${first.ttft.toFixed(0)} ms, cached follow-up ${follow.ttft.toFixed(0)} ms`,
    );
  }

  const out = [];
  out.push(`model: ${PRESET} (${MODEL}), ${MAX_TOKENS} tokens a request, loopback, openai client`);
  out.push(
    `1-minute load average: ${loads.map((l) => l.toFixed(1)).join(" -> ")} (at each round's start, then the end)`,
  );
  out.push("");
  out.push(
    "| round | concurrent streams | tokens | wall s | tok/s, wall (prefills included) | vs 1 stream | decode tok/s (sum of streams) | vs 1 stream |",
  );
  out.push("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const one = (r) => rows.find((x) => x.round === r.round && x.streams === 1);
  for (const r of rows)
    out.push(
      `| ${r.round + 1} | ${r.streams} | ${r.tokens} | ${r.seconds.toFixed(2)} | ${r.tokPerS.toFixed(1)} | ${(r.tokPerS / one(r).tokPerS).toFixed(2)}x | ${r.decodeTokPerS.toFixed(1)} | ${(r.decodeTokPerS / one(r).decodeTokPerS).toFixed(2)}x |`,
    );
  out.push("");
  for (const n of STREAMS) {
    const mine = rows.filter((r) => r.streams === n);
    const wall = middle(mine.map((r) => r.tokPerS / one(r).tokPerS));
    const decode = middle(mine.map((r) => r.decodeTokPerS / one(r).decodeTokPerS));
    out.push(
      `${n} streams vs 1, median of ${ROUNDS} round(s) [${mine.map((r) => (r.decodeTokPerS / one(r).decodeTokPerS).toFixed(2)).join(", ")}]: ${wall.toFixed(2)}x wall, ${decode.toFixed(2)}x decode`,
    );
  }
  out.push("");
  out.push(
    `TTFT over the ${ttfts.length} streamed requests (image state cached): p50 ${median(ttfts).toFixed(0)} ms, p99 ${percentile(ttfts, 99).toFixed(0)} ms`,
  );
  if (COLD_IMAGES > 0)
    out.push(
      `new image (cold) TTFT median ${median(cold).toFixed(0)} ms [${cold.map((t) => t.toFixed(0)).join(", ")}]; follow-up on it (cached) median ${median(cached).toFixed(0)} ms [${cached.map((t) => t.toFixed(0)).join(", ")}]: ${(median(cold) / median(cached)).toFixed(1)}x shorter`,
    );
  process.stdout.write(`${out.join("\n")}\n`);
  process.stdout.write(
    `${JSON.stringify({ preset: PRESET, maxTokens: MAX_TOKENS, loads, rows, ttfts, cold, cached })}\n`,
  );
} finally {
  clearTimeout(limit);
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
}
