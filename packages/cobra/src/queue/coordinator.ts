import { setTimeout as sleep } from "node:timers/promises";
import { AbortError } from "@cobra-ts/core";
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { PendingAnswerer, PendingWork } from "../eval/run/run-eval.js";
import type { EvalQuestion, Prediction } from "../eval/task.js";
import { idKey } from "../eval/tasks/common.js";
import type { BackendChoice } from "../runtime/backends.js";
import { QueueConnectionError, QueueJobFailedError } from "./errors.js";
import {
  answersKey,
  type CobraJob,
  evalJobId,
  evalJobPrefix,
  QUEUE_NAME,
  type StoredAnswer,
} from "./jobs.js";
import { modelIdentity } from "./model-identity.js";
import { connectRedis, type QueueConnection, redisOptions } from "./redis-connection.js";
import { claimQueueRun, type QueueRun } from "./run-identity.js";

export interface CoordinatorOptions {
  connection: QueueConnection;
  modelDir: string;
  backend: BackendChoice;
  /** How often the answers are counted (default 500 ms). */
  pollMs?: number;
  /** Called every `statusMs` (default 10 s) with the count so far and the workers connected. */
  onStatus?: (status: { done: number; total: number; workers: number | null }) => void;
  statusMs?: number;
}

const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: "exponential", delay: 1000 },
  // kept until the run is collected: a job id still present is what makes adding it again add nothing
  removeOnComplete: false,
  removeOnFail: false,
};
const CHUNK = 500;

/**
 * The `--queue` answerer: one BullMQ job per image group, answered by `cobra worker`s anywhere; this process
 * waits, shows progress, and once every question has its answer in Redis writes them to predictions.jsonl in
 * the order a local run would, for runEval to score. Killed and started again, it finds its run in queue.json.
 */
export function queueAnswerer(q: CoordinatorOptions): PendingAnswerer {
  return async (work, options) => {
    const queueRun = await claimQueueRun(options.outDir, await modelIdentity(q.modelDir));
    let lost: ((e: QueueConnectionError) => void) | null = null;
    const lostConnection = new Promise<never>((_, reject) => {
      lost = reject;
    });
    lostConnection.catch(() => {});
    const redis = await connectRedis(q.connection, (e) => lost?.(e));
    const queue = new Queue<CobraJob>(QUEUE_NAME, { connection: redisOptions(q.connection) });
    queue.on("error", () => {}); // reconnects are bounded; giving up is reported by `lost`
    try {
      const collect = async () => {
        await enqueue(queue, redis, queueRun, work, options.imagesDir, q.backend);
        await waitForAnswers(queue, redis, queueRun.run, work, q, options.signal);
        await writeAnswers(redis, queueRun.run, work);
        // collected: the run's jobs and answers are no longer needed in Redis
        await redis.del(answersKey(queueRun.run));
        for (const group of work.groups) await queue.remove(evalJobId(queueRun.run, group));
      };
      await Promise.race([collect(), lostConnection]);
    } catch (e) {
      if (e instanceof Error && /Connection is closed/.test(e.message))
        throw new QueueConnectionError(
          `lost Redis mid-run (${e.message}): start it again, then this command`,
        );
      throw e;
    } finally {
      await queue.close().catch(() => {});
      redis.disconnect();
    }
  };
}

const ids = (group: readonly EvalQuestion[]) => group.map((question) => idKey(question.questionId));

/** Adds a job for each group not answered yet; a job left failed or finished without its answers runs again. */
async function enqueue(
  queue: Queue<CobraJob>,
  redis: Redis,
  queueRun: QueueRun,
  work: PendingWork,
  imagesDir: string,
  backend: BackendChoice,
): Promise<void> {
  const key = answersKey(queueRun.run);
  const wanted = new Set(work.groups.flatMap(ids));
  const stored = new Set(await redis.hkeys(key));
  // answers for questions no longer pending (written to predictions.jsonl before a kill) would be counted twice
  const stale = [...stored].filter((id) => !wanted.has(id));
  for (let i = 0; i < stale.length; i += CHUNK) await redis.hdel(key, ...stale.slice(i, i + CHUNK));
  const open = work.groups.filter((group) => ids(group).some((id) => !stored.has(id)));
  const jobs = open.map((questions) => ({
    name: `eval ${queueRun.run}`,
    data: {
      kind: "eval-group" as const,
      run: queueRun.run,
      model: queueRun.model,
      imagesDir,
      questions,
      runner: work.runner,
      backend,
    },
    opts: { ...JOB_OPTIONS, jobId: evalJobId(queueRun.run, questions) },
  }));
  for (let i = 0; i < jobs.length; i += CHUNK) await queue.addBulk(jobs.slice(i, i + CHUNK));
  for (const job of jobs) {
    const id = job.opts.jobId;
    const state = await queue.getJobState(id);
    if (state === "failed") await (await queue.getJob(id))?.retry("failed");
    else if (state === "completed") {
      await queue.remove(id);
      await queue.add(job.name, job.data, job.opts);
    }
  }
}

/** Until every pending question has an answer in Redis; a job failed for good stops the wait with its reason. */
async function waitForAnswers(
  queue: Queue<CobraJob>,
  redis: Redis,
  run: string,
  work: PendingWork,
  q: CoordinatorOptions,
  signal?: AbortSignal,
): Promise<void> {
  const key = answersKey(run);
  const pending = work.groups.reduce((n, g) => n + g.length, 0);
  const statusMs = q.statusMs ?? 10_000;
  let lastStatus = performance.now();
  for (;;) {
    const stored = Math.min(await redis.hlen(key), pending);
    work.progress(stored);
    if (stored === pending && (await missing(redis, key, work)) === 0) return;
    if ((await queue.getFailedCount()) > 0) {
      const failed = (await queue.getFailed()).filter((job) => job.id?.startsWith(evalJobPrefix(run)));
      if (failed.length > 0)
        throw new QueueJobFailedError(
          `${failed.length} job${failed.length === 1 ? "" : "s"} of this run failed: ${failed[0].failedReason}. ` +
            "Fix that and run the same command again: it retries the failed jobs and keeps every answer so far",
        );
    }
    if (q.onStatus && performance.now() - lastStatus >= statusMs) {
      lastStatus = performance.now();
      // CLIENT LIST, which counts the workers, is disabled on some hosted Redis: the count is then left out
      const workers = await queue.getWorkersCount().catch(() => null);
      q.onStatus({ done: work.doneBefore + stored, total: work.total, workers });
    }
    if (signal?.aborted)
      throw new AbortError(
        `stopped waiting with ${work.doneBefore + stored} of ${work.total} questions answered: the jobs stay ` +
          "queued and the workers keep answering; run the same command to collect them",
      );
    await sleep(q.pollMs ?? 500, undefined, { signal }).catch(() => {});
  }
}

async function missing(redis: Redis, key: string, work: PendingWork): Promise<number> {
  const all = work.groups.flatMap(ids);
  let count = 0;
  for (let i = 0; i < all.length; i += CHUNK)
    for (const value of await redis.hmget(key, ...all.slice(i, i + CHUNK))) if (value === null) count++;
  return count;
}

/** The answers into predictions.jsonl group by group, as a local run writes them; unanswered ones listed. */
async function writeAnswers(redis: Redis, run: string, work: PendingWork): Promise<void> {
  const key = answersKey(run);
  for (const group of work.groups) {
    const values = await redis.hmget(key, ...ids(group));
    const predictions: Prediction[] = [];
    const skipped = new Map<string, EvalQuestion[]>();
    for (const [i, value] of values.entries()) {
      const answer = JSON.parse(value as string) as StoredAnswer;
      if ("prediction" in answer) predictions.push(answer.prediction);
      else skipped.set(answer.skipped, [...(skipped.get(answer.skipped) ?? []), group[i]]);
    }
    if (predictions.length > 0) await work.write(predictions);
    for (const [reason, questions] of skipped) work.skip(questions, reason);
  }
}
