import { UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import type { EvalEngine } from "../eval/run/answer.js";
import { answerImageGroup } from "../eval/run/run-eval.js";
import { idKey } from "../eval/tasks/common.js";
import type { BackendChoice } from "../runtime/backends.js";
import { answersKey, type EvalGroupJob, type StoredAnswer } from "./jobs.js";
import { describeModel, type ModelIdentity } from "./model-identity.js";

export interface EvalGroupContext {
  redis: Redis;
  /** This worker's model (`--model`). */
  model: ModelIdentity;
  modelDir: string;
  /** The worker's own --images, when its images are not where the coordinator's are. */
  imagesDir?: string;
  engine(backend: BackendChoice): Promise<EvalEngine<string>>;
  signal?: AbortSignal;
}

/**
 * Answers one image group and stores each answer under its question id in the run's hash, batch by batch (a job
 * killed half way keeps its finished batches; the retry overwrites them with the same answers).
 */
export async function processEvalGroup(
  job: EvalGroupJob,
  ctx: EvalGroupContext,
): Promise<{ answered: number }> {
  if (job.model.digest !== ctx.model.digest)
    // Not retried: another attempt on this worker would be refused again.
    throw new UnrecoverableError(
      `the run wants model ${describeModel(job.model)}, this worker has ${describeModel(ctx.model)} ` +
        `(${ctx.modelDir}): start the worker with --model pointing at a copy of the run's model folder`,
    );
  const key = answersKey(job.run);
  const store = (entries: [string, StoredAnswer][]) =>
    ctx.redis.hset(key, Object.fromEntries(entries.map(([id, a]) => [id, JSON.stringify(a)])));
  let answered = 0;
  const skipped = await answerImageGroup(job.questions, {
    imagesDir: ctx.imagesDir ?? job.imagesDir,
    runner: job.runner,
    engine: () => ctx.engine(job.backend),
    signal: ctx.signal,
    write: async (predictions) => {
      await store(predictions.map((prediction) => [idKey(prediction.question_id), { prediction }]));
      answered += predictions.length;
    },
  });
  if (skipped) await store(skipped.questions.map((q) => [idKey(q.questionId), { skipped: skipped.reason }]));
  return { answered };
}
