#!/usr/bin/env node
// `node tools/bench-queue.mjs`: `cobra eval run --queue` against a redis-server started here, with 1 and then 2
// `cobra worker`s, on a POPE-shaped set made from the fixture images (IMAGES images x PER_IMAGE questions, one
// job per image). Reports jobs/s for each worker count and, from BullMQ's own event stream (Redis timestamps of
// each job's `active` and `completed`), a job's processing time; then the queue's own cost per job, the same jobs
// through BullMQ with no model (enqueue, take, store the answers, finish). Then `cobra batch --queue` on the same
// images (BATCH images a job, MAX_NEW_TOKENS each) with the same workers: its jobs/s with 1 and 2 workers.
// Workers are warmed up first (a run whose first job loads the model in each), so no figure includes a load.
// Environment: BENCH_MODEL (a converted model folder; default: the tiny fixture converted into a temp folder),
// BENCH_IMAGES (default 48), BENCH_PER_IMAGE (default 8), BENCH_BATCH (default 4), BENCH_MAX_NEW_TOKENS (default 16).
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "packages/cobra/dist/cli.js");
const FIXTURE = join(ROOT, "../shared/fixtures", process.env.COBRA_FIXTURE_SET ?? "cobra-tiny");
const IMAGES = Number(process.env.BENCH_IMAGES ?? 48);
const PER_IMAGE = Number(process.env.BENCH_PER_IMAGE ?? 8);
const BATCH = Number(process.env.BENCH_BATCH ?? 4);
const MAX_NEW_TOKENS = Number(process.env.BENCH_MAX_NEW_TOKENS ?? 16);
const log = (line) => process.stderr.write(`bench:queue: ${line}\n`);

if (!existsSync(CLI)) throw new Error("packages/cobra/dist/cli.js is missing: run `npm run build` first");
const work = mkdtempSync(join(tmpdir(), "cobra-queue-bench-"));
const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const cobraSync = (args) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`cobra ${args.slice(0, 2).join(" ")} failed (${r.status})`);
};

let model = process.env.BENCH_MODEL;
if (!model) {
  model = join(work, "model");
  log("converting the fixture model");
  const release = join(FIXTURE, "release");
  cobraSync([
    "convert",
    ...["checkpoint", "dino", "siglip", "llm"].flatMap((p) => [
      `--${p}`,
      join(release, p === "checkpoint" ? "cobra" : p),
    ]),
    "--out",
    model,
  ]);
}

/** `n` images named img<i>.png (the fixture images in turn) and `perImage` POPE questions on each. */
function dataset(name, n, perImage) {
  const dir = join(work, name);
  const images = join(dir, "images");
  mkdirSync(images, { recursive: true });
  const sources = readdirSync(join(FIXTURE, "images"))
    .filter((f) => /\.(png|jpe?g)$/.test(f))
    .sort();
  const objects = ["dog", "cat", "rocket", "cup", "person", "car", "snowboard", "clock"];
  const lines = [];
  let id = 1;
  for (let i = 0; i < n; i++) {
    const image = `img${i}${sources[i % sources.length].slice(sources[i % sources.length].lastIndexOf("."))}`;
    copyFileSync(join(FIXTURE, "images", sources[i % sources.length]), join(images, image));
    for (let k = 0; k < perImage; k++)
      lines.push(
        JSON.stringify({
          question_id: id++,
          image,
          text: `Is there a ${objects[(i + k) % 8]} in the image?`,
          label: k % 2 ? "no" : "yes",
        }),
      );
  }
  writeFileSync(join(dir, "coco_pope_random.json"), `${lines.join("\n")}\n`);
  return { data: dir, images };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function start(args, ready) {
  const child = spawn(process.execPath === args[0] ? args[0] : args[0], args.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const on = (d) => {
      out += d;
      if (ready.test(out)) resolve(child);
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.once("exit", (code) => reject(new Error(`${args[0]} exited (${code}):\n${out}`)));
  });
}

const port = await freePort();
const url = `redis://127.0.0.1:${port}`;
await start(
  [
    "redis-server",
    "--port",
    `${port}`,
    "--bind",
    "127.0.0.1",
    "--dir",
    work,
    "--appendonly",
    "yes",
    "--save",
    "",
  ],
  /Ready to accept/,
);

// the queue's event stream: Redis's own clock on every job's active and completed
const events = new QueueEvents("cobra", { connection: { url } });
const seen = new Map();
const stamp = (id) => Number(id.split("-")[0]);
events.on("active", ({ jobId }, id) => seen.set(jobId, { active: stamp(id) }));
events.on("completed", ({ jobId }, id) => {
  const j = seen.get(jobId);
  if (j) j.completed = stamp(id);
});
await events.waitUntilReady();

const workers = [];
const addWorker = async () =>
  workers.push(
    await start([process.execPath, CLI, "worker", "--queue", url, "--model", model], /waiting for jobs/),
  );

/** `cobra ...args` to its end, without blocking this process (the event stream is read meanwhile). */
const cobra = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "inherit"] });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`cobra ${args[0]} failed (${code})`)),
    );
  });

const evalArgs = (name, set) => [
  ...["eval", "run", "--task", "pope", "--model", model, "--data", set.data, "--images", set.images],
  ...["--out", join(work, name), "--queue", url],
];
const batchArgs = (name, set) => [
  ...["batch", "--model", model, "--images", set.images, "--prompt", "Describe the image in one sentence."],
  ...["--out", join(work, `${name}.jsonl`), "--batch", `${BATCH}`, "--max-new-tokens", `${MAX_NEW_TOKENS}`],
  ...["--queue", url],
];

/** A coordinator (`args(name, set)`) to its end: its jobs, their span and processing time from the event stream. */
async function queuedRun(name, set, args = evalArgs) {
  seen.clear();
  const started = performance.now();
  await cobra(args(name, set));
  const wall = (performance.now() - started) / 1000;
  const jobs = [...seen.values()].filter((j) => j.completed);
  const span = (Math.max(...jobs.map((j) => j.completed)) - Math.min(...jobs.map((j) => j.active))) / 1000;
  const processing = jobs.reduce((s, j) => s + (j.completed - j.active), 0) / jobs.length;
  return { jobs: jobs.length, wall, span, processing };
}

const warm = dataset("warm", 4, 1);
const set = dataset("bench", IMAGES, PER_IMAGE);
const results = {};
const batchResults = {};
const say = (what, n, r) =>
  log(
    `${what}, ${n} worker${n > 1 ? "s" : ""}: ${r.jobs} jobs in ${r.span.toFixed(2)} s (${(r.jobs / r.span).toFixed(2)} jobs/s, ${r.processing.toFixed(0)} ms each); coordinator ${r.wall.toFixed(1)} s wall`,
  );
for (const n of [1, 2]) {
  while (workers.length < n) await addWorker();
  // the first job of each kind on a fresh worker loads its model (batch asks for --backend cpu, eval for the default)
  await queuedRun(`warm-${n}`, warm);
  await queuedRun(`warm-batch-${n}`, warm, batchArgs);
  results[n] = await queuedRun(`run-${n}`, set);
  say("eval", n, results[n]);
  batchResults[n] = await queuedRun(`batch-${n}`, set, batchArgs);
  say("batch", n, batchResults[n]);
}
/**
 * The queue's own cost per job, without a model: the same number of jobs with an eval-group-sized payload through
 * BullMQ on the same Redis, each storing PER_IMAGE answers in a hash as a worker does, processed by one worker.
 */
async function queueOnly(n) {
  const connection = { url };
  const queue = new Queue("cobra-bench-noop", { connection });
  const redis = new Redis(url);
  const answer = JSON.stringify({
    prediction: { question_id: 1, answer: "yes", probabilities: { yes: 0.6, no: 0.4 } },
  });
  const question = {
    questionId: 1,
    image: "img0.png",
    prompt: "Is there a dog in the image?",
    answer: { kind: "choice", choices: ["yes", "no"] },
  };
  const data = { kind: "noop", questions: Array.from({ length: PER_IMAGE }, () => question) };
  let done = 0;
  let finished;
  const all = new Promise((r) => {
    finished = r;
  });
  const started = performance.now();
  await queue.addBulk(
    Array.from({ length: n }, (_, i) => ({ name: "noop", data, opts: { jobId: `noop-${i}` } })),
  );
  const worker = new Worker(
    "cobra-bench-noop",
    async (job) => {
      await redis.hset(
        "cobra-bench-noop:answers",
        Object.fromEntries(job.data.questions.map((_, k) => [`${job.id}-${k}`, answer])),
      );
      if (++done === n) finished();
    },
    { connection },
  );
  await all;
  const ms = (performance.now() - started) / n;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
  return ms;
}

const queueMs = await queueOnly(results[1].jobs);
log(`the queue alone: ${queueMs.toFixed(2)} ms per job (enqueue, take, store ${PER_IMAGE} answers, finish)`);
const one = results[1];
const perJob = (one.span * 1000) / one.jobs;
console.log(
  JSON.stringify({
    cores: cpus().length,
    images: IMAGES,
    questions_per_job: PER_IMAGE,
    jobs_per_s: { 1: results[1].jobs / results[1].span, 2: results[2].jobs / results[2].span },
    coordinator_wall_s: { 1: results[1].wall, 2: results[2].wall },
    one_worker_ms_per_job: perJob,
    processing_ms_per_job: one.processing,
    queue_only_ms_per_job: queueMs,
    batch: {
      images_per_job: BATCH,
      max_new_tokens: MAX_NEW_TOKENS,
      jobs_per_s: {
        1: batchResults[1].jobs / batchResults[1].span,
        2: batchResults[2].jobs / batchResults[2].span,
      },
      images_per_s: {
        1: (BATCH * batchResults[1].jobs) / batchResults[1].span,
        2: (BATCH * batchResults[2].jobs) / batchResults[2].span,
      },
      processing_ms_per_job: batchResults[1].processing,
      coordinator_wall_s: { 1: batchResults[1].wall, 2: batchResults[2].wall },
    },
  }),
);
await events.close();
process.exit(0);
