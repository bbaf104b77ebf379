// `cobra eval run --queue` and `cobra batch --queue` with `cobra worker`s, all real processes of the built CLI on
// a real redis-server: the metrics of a queued run are those of a local run, byte for byte, also when a worker is
// SIGKILLed mid-job, Redis is restarted, or the coordinator is killed and started again; a queued batch writes
// the local batch's lines; a worker with another model is refused, and an unreachable Redis is an error within
// seconds.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { runKeys } from "../src/queue/jobs.js";
import { BIN, batchArgs, runCobra } from "./cli-process.js";
import { IMAGE_FILES, IMAGES_DIR, writePope, writeVqav2 } from "./eval-data.js";
import { RELEASE_SOURCES } from "./fixture.js";
import { inspect, runIdOf, startWorker, until } from "./queue-helpers.js";
import { freePort, type RedisServer, startRedis } from "./redis-server.js";

let work = "";
let model = "";
let redis: RedisServer;
let probe: ReturnType<typeof inspect>;

interface Dataset {
  task: string;
  data: string;
  images: string;
  /** Questions asked. */
  total: number;
  variant: string[];
  /** The local run's folder: what every queued run must equal. */
  local: string;
}
const sets: Record<"pope" | "vqav2", Dataset> = {} as never;

const evalArgs = (d: Dataset, out: string) => [
  "eval",
  "run",
  "--task",
  d.task,
  "--model",
  model,
  "--data",
  d.data,
  "--images",
  d.images,
  "--out",
  out,
  ...d.variant.flatMap((v) => ["--variant", v]),
];
const queueArgs = (d: Dataset, out: string) => [...evalArgs(d, out), "--queue", redis.url];
// short locks: a SIGKILLed worker's job is taken back after about a second, not BullMQ's default 30 s
const workerArgs = (m = model) => ["--queue", redis.url, "--model", m, "--lock-ms", "1000"];
const text = (dir: string, file: string) => readFile(join(dir, file), "utf8");
/** Exit code and stderr less the coordinator's "n of m questions answered" lines (printed every 10 s). */
const ended = (r: { code: number | null; stderr: string }) => ({
  code: r.code,
  stderr: r.stderr.replace(/^cobra eval: \d+ of \d+ questions answered(, \d+ workers?)?\n/gm, ""),
});
const OK = { code: 0, stderr: "" };

/** The queued run's files equal the local run's: metrics.json byte for byte, every question answered once. */
async function expectSameAsLocal(d: Dataset, out: string): Promise<void> {
  expect(await text(out, "metrics.json")).toBe(await text(d.local, "metrics.json"));
  const predictions = await text(out, "predictions.jsonl");
  expect(predictions).toBe(await text(d.local, "predictions.jsonl"));
  const ids = predictions
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).question_id);
  expect(ids).toHaveLength(d.total);
  expect(new Set(ids).size).toBe(d.total);
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  w.child.kill("SIGTERM");
  expect(await w.exited, w.output).toBe(0);
}

beforeAll(async () => {
  if (!(await stat(BIN).catch(() => null)))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
  work = await mkdtemp(join(tmpdir(), "cobra-queue-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  redis = await startRedis();
  probe = inspect(redis.url);
  // POPE: 6 images x 12 questions (choices); VQAv2: 6 x 4 free-text, answers cut at 8 tokens to keep it short.
  // batch=2: a job writes its answers in several steps, so a kill can land inside one.
  const vqa = await writeVqav2(join(work, "vqav2"), 4);
  sets.pope = {
    task: "pope",
    data: await writePope(join(work, "pope"), 12),
    images: IMAGES_DIR,
    total: 72,
    variant: ["batch=2"],
    local: join(work, "pope-local"),
  };
  sets.vqav2 = {
    task: "vqav2",
    data: vqa.data,
    images: vqa.images,
    total: 24,
    variant: ["batch=2", "max_new_tokens=8"],
    local: join(work, "vqav2-local"),
  };
  for (const d of Object.values(sets)) {
    const local = await runCobra(evalArgs(d, d.local));
    expect({ code: local.code, stderr: local.stderr }).toEqual({ code: 0, stderr: "" });
  }
});
afterAll(async () => {
  for (const w of [w1, w2]) if (w && w.child.exitCode === null) w.child.kill("SIGKILL");
  await probe?.close();
  await redis?.stop();
  await rm(work, { recursive: true, force: true });
});

// The tests run in order and share two workers (each loads the model once, the slow part on a shared machine).
type WorkerProcess = Awaited<ReturnType<typeof startWorker>>;
let w1: WorkerProcess;
let w2: WorkerProcess;

describe("cobra eval run --queue with cobra workers", () => {
  it("a worker with another model version is refused, once per job, and the coordinator says so", async () => {
    const d = sets.pope;
    const other = join(work, "model-q8");
    await convertRelease(RELEASE_SOURCES, {
      out: other,
      dtypes: { vision: "fp32", projector: "fp32", lm: "q8" },
    });
    const wrong = await startWorker(workerArgs(other));
    const out = join(work, "pope-wrong-model");
    const refused = await runCobra(queueArgs(d, out));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /cobra: QueueJobFailedError: \d+ jobs? of this run failed: the run wants model cobra\+3b [0-9a-f]{12}, this worker has cobra\+3b [0-9a-f]{12} \(.*model-q8\): start the worker with --model/,
    );
    await wrong.waitFor(/refused or failed a job .*: the run wants model cobra\+3b/);
    const run = (await runIdOf(out)) as string;
    const failed = (await probe.queue.getFailed()).filter((j) =>
      j.id?.startsWith(runKeys("eval", run).jobPrefix),
    );
    expect(failed.length).toBeGreaterThan(0);
    for (const job of failed) expect(job.attemptsMade).toBe(1); // no retries of a refusal
    await stopWorker(wrong);

    // with workers of the right model, the same command retries the refused jobs and finishes
    [w1, w2] = await Promise.all([startWorker(workerArgs()), startWorker(workerArgs())]);
    const again = await runCobra(queueArgs(d, out));
    expect(ended(again)).toEqual(OK);
    await expectSameAsLocal(d, out);
  });

  it("one coordinator and two workers: metrics.json identical to the local run's", async () => {
    for (const d of Object.values(sets)) {
      const out = join(work, `${d.task}-queued`);
      const run = await runCobra(queueArgs(d, out));
      expect(ended(run)).toEqual(OK);
      await expectSameAsLocal(d, out);
      // collected: the run's jobs and answers are gone from Redis
      expect(await probe.stored(out)).toBe(0);
    }
  });

  it("a worker SIGKILLed mid-job and Redis restarted: identical again, every question answered once", async () => {
    // both data sets at once: w1 is killed holding a job not yet fully answered (only stall detection gives it
    // back), then Redis is restarted under both coordinators and w2
    const outs = Object.values(sets).map((d) => join(work, `${d.task}-faults`));
    const coordinators = Object.values(sets).map((d, i) => runCobra(queueArgs(d, outs[i])));
    await until(`a job in the hands of ${w1.name}`, () => probe.midJobOf(w1.name));
    w1.child.kill("SIGKILL");
    await w1.exited;
    const stored = await Promise.all(outs.map((out) => probe.stored(out)));
    expect(stored.reduce((a, b) => a + b)).toBeLessThan(sets.pope.total + sets.vqav2.total);
    await redis.restart();
    for (const [i, d] of Object.values(sets).entries()) {
      expect(ended(await coordinators[i])).toEqual(OK);
      await expectSameAsLocal(d, outs[i]);
    }
  });

  it("the coordinator killed and started again with the same arguments picks the run up", async () => {
    const d = sets.pope;
    const out = join(work, "pope-restarted");
    const first = await runCobra(queueArgs(d, out), {
      killWhen: async () => (await probe.stored(out)) >= 4,
    });
    expect(first.signal).toBe("SIGKILL");
    const run = (await runIdOf(out)) as string;
    // one job per image group, whatever the kill interrupted
    const jobs = await probe.queue.getJobs(["waiting", "active", "completed", "prioritized"]);
    expect(jobs.filter((j) => j.id?.startsWith(runKeys("eval", run).jobPrefix))).toHaveLength(6);

    // the worker finishes the jobs meanwhile; then two answers are lost (a Redis killed before its fsync would
    // lose them so): the coordinator started again queues that job again instead of waiting forever
    await until("the queued jobs all answered", async () => (await probe.stored(out)) === d.total);
    const key = runKeys("eval", run).answers;
    await probe.redis.hdel(key, ...(await probe.redis.hkeys(key)).slice(0, 2));

    const again = await runCobra(queueArgs(d, out));
    expect(ended(again)).toEqual(OK);
    expect(await runIdOf(out)).toBe(run);
    await expectSameAsLocal(d, out);
    await stopWorker(w2);
  });
});

// `cobra batch --queue`: the fixture images (one in a sub-folder) and one that does not decode, two per job
const PROMPT = "Describe the image in one sentence.";
let images = "";
let localBatch = "";
const batchRun = (out: string) =>
  batchArgs({ model, images, prompt: PROMPT, out, maxNewTokens: 8 }, "--batch", "2");
/** The names in --images order (code-point order of the relative path). */
const IMAGE_NAMES = [...IMAGE_FILES.slice(1), "broken.png", `sub/${IMAGE_FILES[0]}`].sort();
const GROUPS = Math.ceil(IMAGE_NAMES.length / 2);
const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
/** Exit code and stderr less the broken image's line and the "n of m images answered" lines. */
const batchEnded = (r: { code: number | null; stderr: string }) => ({
  code: r.code,
  stderr: r.stderr
    .replace(/^cobra batch: \d+ of \d+ images answered(, \d+ workers?)?\n/gm, "")
    .replace(/^cobra batch: broken\.png: ImageDecodeError: .*\n/m, ""),
});

describe("cobra batch --queue with cobra workers", () => {
  beforeAll(async () => {
    images = join(work, "batch-images");
    await mkdir(join(images, "sub"), { recursive: true });
    for (const f of IMAGE_FILES.slice(1)) await copyFile(join(IMAGES_DIR, f), join(images, f));
    await copyFile(join(IMAGES_DIR, IMAGE_FILES[0]), join(images, "sub", IMAGE_FILES[0]));
    await writeFile(join(images, "broken.png"), "this is text, not a PNG");
    localBatch = join(work, "batch-local.jsonl");
    const local = await runCobra(batchRun(localBatch));
    expect(batchEnded(local)).toEqual(OK);
  });

  const batchJobs = async () =>
    (await probe.queue.getJobs(["waiting", "active", "completed", "failed", "prioritized"])).filter(
      (j) => j.data.kind === "batch-images",
    );

  it("killed, started again and answered by two workers (one --concurrency 2): the local run's lines, each image once", async () => {
    const out = join(work, "batch-queued.jsonl");
    const args = [...batchRun(out), "--queue", redis.url];
    // no worker is up: the jobs wait, and the coordinator is killed once it has queued them all
    const first = await runCobra(args, { killWhen: async () => (await batchJobs()).length === GROUPS });
    expect(first.signal).toBe("SIGKILL");
    const queued = await batchJobs();
    expect(queued).toHaveLength(GROUPS);
    const run = queued[0].data.run;
    const keys = runKeys("batch", run);
    expect(queued.every((j) => j.data.run === run && j.id?.startsWith(keys.jobPrefix))).toBe(true);

    // started again: every job it adds is one BullMQ already has ("duplicated"), so nothing is answered twice
    const again = runCobra(args);
    const duplicated = async () =>
      (await probe.redis.xrange("bull:cobra:events", "-", "+")).filter(([, f]) => {
        const event = Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : [])));
        return event.event === "duplicated" && event.jobId.startsWith(keys.jobPrefix);
      }).length;
    await until("the jobs added a second time", async () => (await duplicated()) === GROUPS);
    // BullMQ's default lock (30 s): no worker dies here, and a short lock on this loaded machine lets a job whose
    // worker is busy loading the model be taken a second time
    const args2 = ["--queue", redis.url, "--model", model];
    const [pair, single] = await Promise.all([
      startWorker([...args2, "--concurrency", "2"]),
      startWorker(args2),
    ]);
    // who holds which jobs, and how many at once
    const most = new Map<string, number>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const held = new Map<string, number>();
        for (const job of await probe.queue.getJobs(["active", "completed"]))
          if (job.data.kind === "batch-images" && job.processedBy) {
            if (job.finishedOn === undefined) held.set(job.processedBy, (held.get(job.processedBy) ?? 0) + 1);
            else held.set(job.processedBy, held.get(job.processedBy) ?? 0);
          }
        for (const [name, n] of held) most.set(name, Math.max(most.get(name) ?? 0, n));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const done = await again;
    watching = false;
    await watch;
    expect(batchEnded(done)).toEqual(OK);
    expect(done.stdout).toMatch(/^7 images: 7 done now in [\d.]+ s .*, 0 before; 1 with an error line/);
    expect(most.get(pair.name)).toBe(2);
    expect(most.has(single.name)).toBe(true);

    // the local run's lines (it writes them as they finish), here in --images order, each image once
    const got = await lines(out);
    expect(got.map((l) => JSON.parse(l).image)).toEqual(IMAGE_NAMES);
    expect([...got].sort()).toEqual((await lines(localBatch)).sort());
    // collected: the run's answers and jobs are gone from Redis
    expect(await probe.redis.exists(keys.answers)).toBe(0);
    expect(await batchJobs()).toHaveLength(0);
    for (const w of [pair, single]) await stopWorker(w);

    // a finished file is not done again: no job, no worker needed, the file untouched
    const before = await readFile(out, "utf8");
    const finished = await runCobra(args);
    expect(batchEnded(finished)).toEqual(OK);
    expect(finished.stdout).toMatch(/^7 images: 0 done now, 7 before; 1 with an error line/);
    expect(await readFile(out, "utf8")).toBe(before);
    expect(await batchJobs()).toHaveLength(0);
  });

  it("a worker with another model version is refused, and the coordinator says so", async () => {
    // its own database, where no other worker listens
    const db = `${redis.url}/2`;
    const wrong = await startWorker(["--queue", db, "--model", join(work, "model-q8")]);
    const out = join(work, "batch-wrong-model.jsonl");
    const refused = await runCobra([...batchRun(out), "--queue", db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /cobra: QueueJobFailedError: \d+ jobs? of this run failed: the run wants model cobra\+3b [0-9a-f]{12}, this worker has cobra\+3b [0-9a-f]{12} \(.*model-q8\): start the worker with --model/,
    );
    await expect(stat(out)).rejects.toThrow(/ENOENT/); // nothing written, not even an empty file
    await stopWorker(wrong);
  });
});

describe("an unreachable Redis", () => {
  it("an unreachable Redis is a QueueConnectionError within the timeout, for a worker and both coordinators", async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const expected =
      /cobra: QueueConnectionError: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(ECONNREFUSED\) for 2 s/;
    const started = performance.now();
    const [worker, coordinator, batch] = await Promise.all([
      runCobra(["worker", "--queue", nobody, "--model", model, "--redis-timeout", "2"]),
      runCobra([
        ...evalArgs(sets.pope, join(work, "pope-no-redis")),
        "--queue",
        nobody,
        "--redis-timeout",
        "2",
      ]),
      runCobra([...batchRun(join(work, "batch-no-redis.jsonl")), "--queue", nobody, "--redis-timeout", "2"]),
    ]);
    expect(performance.now() - started).toBeLessThan(20_000);
    for (const r of [worker, coordinator, batch]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(expected);
    }
    // The batch's --out did not exist and got no line: no empty file is left behind.
    await expect(stat(join(work, "batch-no-redis.jsonl"))).rejects.toThrow(/ENOENT/);
  });
});
