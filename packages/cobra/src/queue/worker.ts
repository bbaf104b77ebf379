import { UnrecoverableError, Worker } from "bullmq";
import pkg from "../../package.json" with { type: "json" };
import { describeModel, readModelFolder } from "../model-identity.js";
import { type BackendChoice, type PartBackends, resolvePartBackends } from "../runtime/backends.js";
import { recordedBackends } from "../runtime/load-parts.js";
import { processBatchImages } from "./batch-images.js";
import type { QueueConnectionError } from "./errors.js";
import { processEvalGroup } from "./eval-group.js";
import type { JobContext, WorkerEngine } from "./job-context.js";
import { type CobraJob, QUEUE_NAME } from "./jobs.js";
import { connectRedis, displayUrl, type QueueConnection, redisOptions } from "./redis-connection.js";

/** BullMQ's default: a worker that dies holding a job is noticed after about this long. */
export const DEFAULT_LOCK_MS = 30_000;

export interface RunWorkerOptions {
  connection: QueueConnection;
  modelDir: string;
  /** Where this machine has the images, when not at the coordinator's --images path. */
  imagesDir?: string;
  concurrency: number;
  /** A job's lock lives this long unrenewed; a stalled job (its worker died) is taken back after about this. */
  lockMs: number;
  /** The model as a run asks for it (one load per backend choice, kept for the next jobs). */
  loadEngine(backend: BackendChoice): Promise<WorkerEngine & { release(): Promise<void> }>;
  /** Recorded on each job this worker takes, e.g. `<host>:<pid>`. */
  name: string;
  log(line: string): void;
  /** Aborted: finish the jobs in hand, take no more, and return. */
  signal: AbortSignal;
}

/**
 * Which loaded model a job's backend choice needs: the backend each part ends up on, so that a run that names
 * none and one that names the default share one load (an eval job and a batch job on one worker).
 */
export function engineKey(choice: BackendChoice | undefined, recorded: PartBackends): string {
  return JSON.stringify(resolvePartBackends(choice, "cpu", recorded));
}

/** Takes jobs from the queue until `signal` aborts; throws a QueueConnectionError when Redis stays away. */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const { manifest, identity: model } = await readModelFolder(options.modelDir);
  const recorded = recordedBackends(manifest);
  let lost: ((e: QueueConnectionError) => void) | null = null;
  const lostConnection = new Promise<never>((_, reject) => {
    lost = reject;
  });
  lostConnection.catch(() => {});
  const redis = await connectRedis(options.connection, (e) => lost?.(e));
  const engines = new Map<string, ReturnType<RunWorkerOptions["loadEngine"]>>();
  const engine = (backend: BackendChoice) => {
    const key = engineKey(backend, recorded);
    let loading = engines.get(key);
    if (!loading) {
      loading = options.loadEngine(backend);
      engines.set(key, loading);
      loading.catch(() => engines.delete(key)); // a failed load is tried again by the next job
    }
    return loading;
  };
  const said = new Set<string>();
  const sayOnce = (line: string) => {
    if (said.has(line)) return;
    said.add(line);
    options.log(line);
  };
  const worker = new Worker<CobraJob>(
    QUEUE_NAME,
    async (job) => {
      const data = job.data;
      const ctx: JobContext = {
        redis,
        model,
        modelDir: options.modelDir,
        imagesDir: options.imagesDir,
        engine,
      };
      switch (data.kind) {
        case "eval-group":
          return processEvalGroup(data, ctx);
        case "batch-images":
          return processBatchImages(data, ctx);
        default:
          throw new UnrecoverableError(
            `job kind ${JSON.stringify((data as { kind?: unknown }).kind)} is unknown to this worker ` +
              `(${pkg.name} ${pkg.version}): update cobra-ts on this machine`,
          );
      }
    },
    {
      connection: redisOptions(options.connection),
      // recorded on each job it takes (`processedBy`): which machine has which job
      name: options.name,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      // a job whose worker died is taken back this often before it counts as failed
      maxStalledCount: 3,
    },
  );
  worker.on("failed", (job, e) =>
    sayOnce(`refused or failed a job${job ? ` of ${job.name}` : ""}: ${e.message}`),
  );
  worker.on("error", () => {}); // connection errors: reconnects are bounded by the timeout, reported by `lost`
  options.log(
    `${options.name} waiting for jobs on ${displayUrl(options.connection.url)} (model ${describeModel(model)}, ` +
      `concurrency ${options.concurrency})`,
  );
  const stop = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    await Promise.race([stop, lostConnection]);
    await worker.close();
  } catch (e) {
    await worker.close(true).catch(() => {});
    throw e;
  } finally {
    redis.disconnect();
    for (const loading of engines.values()) await (await loading.catch(() => null))?.release();
  }
}
