import { setTimeout as sleep } from "node:timers/promises";
import { AbortError } from "@cobra-ts/core";
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QueueConnectionError, QueueJobFailedError } from "./errors.js";
import { type CobraJob, QUEUE_NAME, type RunKeys } from "./jobs.js";
import { connectRedis, type QueueConnection, redisOptions } from "./redis-connection.js";

export interface CoordinatorOptions {
  connection: QueueConnection;
  /** How often the answers are counted (default 500 ms). */
  pollMs?: number;
  /** Called every `statusMs` (default 10 s) with the count so far and the workers connected. */
  onStatus?: (status: { done: number; total: number; workers: number | null }) => void;
  statusMs?: number;
}

/** One job of a run, and the fields of the run's answer hash that it fills. */
export interface RunJob {
  id: string;
  name: string;
  data: CobraJob;
  fields: string[];
}

/** A run's work left, as the coordinator hands it to the workers. */
export interface QueuedWork {
  keys: RunKeys;
  /** A job for each piece left, in the order its answers are written. */
  jobs: RunJob[];
  /** What one answer is, plural, for messages: "questions", "images". */
  unit: string;
  /** Answered before this run started, and in all. */
  doneBefore: number;
  total: number;
  /** `stored` answers in Redis so far, of those wanted now. */
  progress(stored: number): void;
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
 * A coordinator's run through the queue, whatever its kind: enqueues a job for each piece not answered yet, waits
 * (showing progress) until every answer is in Redis, hands each job's answers to `write` in `work.jobs` order,
 * then removes the run's jobs and answers. Killed and started again with the same jobs, it adds nothing twice and
 * waits for the answers already coming.
 */
export async function runQueued(
  q: CoordinatorOptions,
  work: QueuedWork,
  write: (job: RunJob, answers: string[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
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
      await enqueue(queue, redis, work);
      await waitForAnswers(queue, redis, work, q, signal);
      for (const job of work.jobs)
        await write(job, (await redis.hmget(work.keys.answers, ...job.fields)) as string[]);
      // Collected: the run's jobs and answers are no longer needed in Redis. A job taken twice (its first worker
      // stalled past its lock, then finished anyway) may still be answering, and would store into a hash already
      // deleted: each job goes once no worker holds it (BullMQ refuses to remove a locked job), then the answers.
      for (const job of work.jobs) while ((await queue.remove(job.id)) === 0) await sleep(q.pollMs ?? 500);
      await redis.del(work.keys.answers);
    };
    await Promise.race([collect(), lostConnection]);
  } catch (e) {
    if (e instanceof Error && /Connection is closed/.test(e.message))
      throw new QueueConnectionError(`lost Redis mid-run (${e.message}): start it again, then this command`);
    throw e;
  } finally {
    await queue.close().catch(() => {});
    redis.disconnect();
  }
}

/** Adds a job for each piece not answered yet; a job left failed or finished without its answers runs again. */
async function enqueue(queue: Queue<CobraJob>, redis: Redis, work: QueuedWork): Promise<void> {
  const key = work.keys.answers;
  const wanted = new Set(work.jobs.flatMap((job) => job.fields));
  const stored = new Set(await redis.hkeys(key));
  // answers no longer wanted (written to the output before a kill) would be counted twice
  const stale = [...stored].filter((field) => !wanted.has(field));
  for (let i = 0; i < stale.length; i += CHUNK) await redis.hdel(key, ...stale.slice(i, i + CHUNK));
  const open = work.jobs
    .filter((job) => job.fields.some((field) => !stored.has(field)))
    .map((job) => ({ name: job.name, data: job.data, opts: { ...JOB_OPTIONS, jobId: job.id } }));
  // Jobs left from an earlier start, looked at before adding: one that fails after this start's add (a worker
  // with another model) is this start's failure to report, not one to retry.
  for (const job of open) {
    const id = job.opts.jobId;
    const state = await queue.getJobState(id);
    if (state === "failed") await (await queue.getJob(id))?.retry("failed");
    else if (state === "completed") await queue.remove(id); // finished, yet answers are missing: added again below
  }
  for (let i = 0; i < open.length; i += CHUNK) await queue.addBulk(open.slice(i, i + CHUNK));
}

/** Until every wanted answer is in Redis; a job failed for good stops the wait with its reason. */
async function waitForAnswers(
  queue: Queue<CobraJob>,
  redis: Redis,
  work: QueuedWork,
  q: CoordinatorOptions,
  signal?: AbortSignal,
): Promise<void> {
  const key = work.keys.answers;
  const pending = work.jobs.reduce((n, job) => n + job.fields.length, 0);
  const statusMs = q.statusMs ?? 10_000;
  let lastStatus = performance.now();
  for (;;) {
    const stored = Math.min(await redis.hlen(key), pending);
    work.progress(stored);
    if (stored === pending && (await missing(redis, key, work)) === 0) return;
    if ((await queue.getFailedCount()) > 0) {
      const failed = (await queue.getFailed()).filter((job) => job.id?.startsWith(work.keys.jobPrefix));
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
        `stopped waiting with ${work.doneBefore + stored} of ${work.total} ${work.unit} answered: the jobs stay ` +
          "queued and the workers keep answering; run the same command to collect them",
      );
    await sleep(q.pollMs ?? 500, undefined, { signal }).catch(() => {});
  }
}

async function missing(redis: Redis, key: string, work: QueuedWork): Promise<number> {
  const all = work.jobs.flatMap((job) => job.fields);
  let count = 0;
  for (let i = 0; i < all.length; i += CHUNK)
    for (const value of await redis.hmget(key, ...all.slice(i, i + CHUNK))) if (value === null) count++;
  return count;
}
