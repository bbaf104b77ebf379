import { createHash } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { answerImages, type BatchAnswer } from "../batch/answer-images.js";
import type { BatchAnswerer } from "../batch/run-batch.js";
import { canonicalJson } from "../jsonl/canonical-json.js";
import type { BackendChoice } from "../runtime/backends.js";
import { type CoordinatorOptions, runQueued } from "./coordinator.js";
import { type JobContext, refuseOtherModel } from "./job-context.js";
import { type BatchImagesJob, jobId, runKeys } from "./jobs.js";

/**
 * The `batch --queue` answerer: the images left in jobs of `--batch` images each (in --images order), answered
 * by `cobra worker`s anywhere; once every image has its outcome in Redis they are appended to --out in --images
 * order. The run's id comes from what makes the run (the output file, the images, prompt, model and settings), so
 * a coordinator killed and started again with the same arguments finds its jobs and answers without a record.
 */
export function batchQueueAnswerer(q: CoordinatorOptions & { backend: BackendChoice }): BatchAnswerer {
  return async (work, options) => {
    const { model_sha256, prompt, generation } = work.run;
    const made = {
      out: resolve(options.out),
      images: resolve(options.images),
      model_sha256,
      prompt,
      generation,
    };
    const run = createHash("sha256").update(canonicalJson(made)).digest("hex").slice(0, 32);
    const keys = runKeys("batch", run);
    const jobs = [];
    for (let i = 0; i < work.images.length; i += options.batch) {
      const images = work.images.slice(i, i + options.batch);
      const data: BatchImagesJob = {
        kind: "batch-images",
        run,
        model: work.model,
        backend: q.backend,
        images,
        prompt: options.prompt,
        generation: options.generation,
        batch: options.batch,
      };
      const fields = images.map((m) => m.image);
      jobs.push({ id: jobId(keys, fields.join("\u0000")), name: `batch ${run}`, data, fields });
    }
    work.answering();
    const { doneBefore, total, progress } = work;
    await runQueued(
      q,
      { keys, jobs, unit: "images", doneBefore, total, progress },
      async (_, values) => {
        for (const value of values) await work.write(JSON.parse(value) as BatchAnswer);
      },
      options.signal,
    );
  };
}

/**
 * Answers a job's images not answered yet (a retry after a kill skips the finished ones) and stores each outcome
 * under its image's name in the run's hash as it finishes: a retried job overwrites, never adds a second one.
 */
export async function processBatchImages(
  job: BatchImagesJob,
  ctx: JobContext,
): Promise<{ answered: number }> {
  refuseOtherModel(job, ctx);
  const key = runKeys("batch", job.run).answers;
  const stored = await ctx.redis.hmget(key, ...job.images.map((m) => m.image));
  const left = job.images
    .filter((_, i) => stored[i] === null)
    .map(({ image, path }) => ({
      image,
      path: ctx.imagesDir !== undefined && !isAbsolute(image) ? join(ctx.imagesDir, image) : path,
    }));
  if (left.length === 0) return { answered: 0 };
  const engine = await ctx.engine(job.backend);
  let answered = 0;
  const ask = { prompt: job.prompt, generation: job.generation, batch: job.batch, signal: ctx.signal };
  for await (const answer of answerImages(engine, left, ask)) {
    await ctx.redis.hset(key, answer.image, JSON.stringify(answer));
    answered++;
  }
  return { answered };
}
