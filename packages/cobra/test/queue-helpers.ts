// Reading a queued run's state in Redis the way an operator would (redis-cli, BullMQ's getters), for the tests.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { idKey } from "../src/eval/tasks/common.js";
import { type CobraJob, QUEUE_NAME, runKeys } from "../src/queue/jobs.js";
import { startCli } from "./cli-process.js";

/** The run id a coordinator recorded in `<out>/queue.json` (null before it wrote one). */
export async function runIdOf(outDir: string): Promise<string | null> {
  const text = await readFile(join(outDir, "queue.json"), "utf8").catch(() => null);
  return text === null ? null : (JSON.parse(text).run as string);
}

/** A client on the test's Redis, and the BullMQ queue the CLI uses. */
export function inspect(url: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on("error", () => {}); // the server is restarted under it on purpose
  const queue = new Queue<CobraJob>(QUEUE_NAME, { connection: { url, maxRetriesPerRequest: null } });
  queue.on("error", () => {});
  return {
    redis,
    queue,
    /** Answers stored for the run in `outDir` so far. */
    async stored(outDir: string): Promise<number> {
      const run = await runIdOf(outDir);
      return run === null ? 0 : redis.hlen(runKeys("eval", run).answers);
    },
    /** A job the worker named `worker` holds, not all of its answers stored yet: it is mid-job. */
    async midJobOf(worker: string): Promise<string | null> {
      for (const job of await queue.getActive()) {
        if (job.processedBy !== worker) continue;
        if (job.data.kind !== "eval-group") continue;
        const ids = job.data.questions.map((q) => idKey(q.questionId));
        const values = await redis.hmget(runKeys("eval", job.data.run).answers, ...ids);
        const done = values.filter((v) => v !== null).length;
        if (done < ids.length) return job.id ?? null;
      }
      return null;
    },
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}

/** A `cobra worker` child process, ready once it says it is waiting for jobs; `name` is what jobs record. */
export async function startWorker(args: string[]) {
  const cli = startCli(["worker", ...args]);
  const match = await cli.waitFor(/cobra worker: (\S+) waiting for jobs/, 0, 60_000);
  return { ...cli, name: match[1] };
}

/** Polls `check` every 20 ms until it is truthy (or `timeoutMs` passes). */
export async function until<T>(what: string, check: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
