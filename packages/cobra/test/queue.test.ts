// `cobra eval run --queue` with `cobra worker`s, all real processes of the built CLI on a real redis-server:
// the metrics of a queued run are those of a local run, byte for byte, also when a worker is SIGKILLed mid-job,
// Redis is restarted, or the coordinator is killed and started again; a worker with another model is refused,
// and an unreachable Redis is an error within seconds.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { answersKey, evalJobPrefix } from "../src/queue/jobs.js";
import { BIN, runCobra } from "./cli-process.js";
import { IMAGES_DIR, writePope, writeVqav2 } from "./eval-data.js";
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
    const failed = (await probe.queue.getFailed()).filter((j) => j.id?.startsWith(evalJobPrefix(run)));
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
    expect(jobs.filter((j) => j.id?.startsWith(evalJobPrefix(run)))).toHaveLength(6);

    // the worker finishes the jobs meanwhile; then two answers are lost (a Redis killed before its fsync would
    // lose them so): the coordinator started again queues that job again instead of waiting forever
    await until("the queued jobs all answered", async () => (await probe.stored(out)) === d.total);
    const key = answersKey(run);
    await probe.redis.hdel(key, ...(await probe.redis.hkeys(key)).slice(0, 2));

    const again = await runCobra(queueArgs(d, out));
    expect(ended(again)).toEqual(OK);
    expect(await runIdOf(out)).toBe(run);
    await expectSameAsLocal(d, out);
    await stopWorker(w2);
  });

  it("an unreachable Redis is a QueueConnectionError within the timeout, for a worker and a coordinator", async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const expected =
      /cobra: QueueConnectionError: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(ECONNREFUSED\) for 2 s/;
    const started = performance.now();
    const [worker, coordinator] = await Promise.all([
      runCobra(["worker", "--queue", nobody, "--model", model, "--redis-timeout", "2"]),
      runCobra([
        ...evalArgs(sets.pope, join(work, "pope-no-redis")),
        "--queue",
        nobody,
        "--redis-timeout",
        "2",
      ]),
    ]);
    expect(performance.now() - started).toBeLessThan(20_000);
    for (const r of [worker, coordinator]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(expected);
    }
  });
});
