import { UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import type { BatchEngine } from "../batch/answer-images.js";
import type { EvalEngine } from "../eval/run/answer.js";
import { describeModel, type ModelIdentity } from "../model-identity.js";
import type { BackendChoice } from "../runtime/backends.js";
import type { CobraJob } from "./jobs.js";

/** What a worker's model must do for every kind of job: a loaded `Cobra` will do. */
export type WorkerEngine = EvalEngine<string> & BatchEngine;

/** What a worker gives each job it takes. */
export interface JobContext {
  redis: Redis;
  /** This worker's model (`--model`). */
  model: ModelIdentity;
  modelDir: string;
  /** The worker's own --images, when its images are not where the coordinator's are. */
  imagesDir?: string;
  engine(backend: BackendChoice): Promise<WorkerEngine>;
  signal?: AbortSignal;
}

/** A job of a run started with another model is refused, and not retried: this worker would refuse it again. */
export function refuseOtherModel(job: CobraJob, ctx: JobContext): void {
  if (job.model.digest !== ctx.model.digest)
    throw new UnrecoverableError(
      `the run wants model ${describeModel(job.model)}, this worker has ${describeModel(ctx.model)} ` +
        `(${ctx.modelDir}): start the worker with --model pointing at a copy of the run's model folder`,
    );
}
