import { answerImageGroup, type PendingAnswerer } from "../eval/run/run-eval.js";
import type { EvalQuestion, Prediction } from "../eval/task.js";
import { idKey } from "../eval/tasks/common.js";
import { modelIdentity } from "../model-identity.js";
import type { BackendChoice } from "../runtime/backends.js";
import { type CoordinatorOptions, runQueued } from "./coordinator.js";
import { type JobContext, refuseOtherModel } from "./job-context.js";
import { type EvalGroupJob, evalJobId, runKeys, type StoredAnswer } from "./jobs.js";
import { claimQueueRun } from "./run-identity.js";

const ids = (group: readonly EvalQuestion[]) => group.map((question) => idKey(question.questionId));

/**
 * The `eval run --queue` answerer: one job per image group, answered by `cobra worker`s anywhere; once every
 * question has its answer in Redis they go to predictions.jsonl in the order a local run writes them, for runEval
 * to score. Killed and started again, it finds its run in `<out>/queue.json`.
 */
export function evalQueueAnswerer(
  q: CoordinatorOptions & { modelDir: string; backend: BackendChoice },
): PendingAnswerer {
  return async (work, options) => {
    const queueRun = await claimQueueRun(options.outDir, await modelIdentity(q.modelDir));
    const keys = runKeys("eval", queueRun.run);
    const jobs = work.groups.map((questions) => ({
      id: evalJobId(keys, questions),
      name: `eval ${queueRun.run}`,
      data: {
        kind: "eval-group" as const,
        run: queueRun.run,
        model: queueRun.model,
        imagesDir: options.imagesDir,
        questions,
        runner: work.runner,
        backend: q.backend,
      },
      fields: ids(questions),
    }));
    const { doneBefore, total, progress } = work;
    await runQueued(
      q,
      { keys, jobs, unit: "questions", doneBefore, total, progress },
      async (job, values) => {
        const group = (job.data as EvalGroupJob).questions;
        const predictions: Prediction[] = [];
        const skipped = new Map<string, EvalQuestion[]>();
        for (const [i, value] of values.entries()) {
          const answer = JSON.parse(value) as StoredAnswer;
          if ("prediction" in answer) predictions.push(answer.prediction);
          else skipped.set(answer.skipped, [...(skipped.get(answer.skipped) ?? []), group[i]]);
        }
        if (predictions.length > 0) await work.write(predictions);
        for (const [reason, questions] of skipped) work.skip(questions, reason);
      },
      options.signal,
    );
  };
}

/**
 * Answers one image group and stores each answer under its question id in the run's hash, batch by batch (a job
 * killed half way keeps its finished batches; the retry overwrites them with the same answers).
 */
export async function processEvalGroup(job: EvalGroupJob, ctx: JobContext): Promise<{ answered: number }> {
  refuseOtherModel(job, ctx);
  const key = runKeys("eval", job.run).answers;
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
