import { createHash } from "node:crypto";
import type { BatchGeneration } from "../batch/answer-images.js";
import type { BatchImage } from "../batch/image-list.js";
import type { RunnerVariant } from "../eval/run/variant.js";
import type { EvalQuestion, Prediction } from "../eval/task.js";
import type { ModelIdentity } from "../model-identity.js";
import type { BackendChoice } from "../runtime/backends.js";

/** The one BullMQ queue every kind of cobra job goes through; workers dispatch on the payload's `kind`. */
export const QUEUE_NAME = "cobra";

/** What every job of a run carries. */
interface RunJobData {
  /** The run's id: names its jobs and its answers in Redis. */
  run: string;
  /** The model the run was started with: a worker with another one refuses the job. */
  model: ModelIdentity;
  backend: BackendChoice;
}

/** One image group of an eval run: the image and all its questions, so the worker reads the image once. */
export interface EvalGroupJob extends RunJobData {
  kind: "eval-group";
  /** The coordinator's --images: a worker reads the images there unless it is given its own --images. */
  imagesDir: string;
  questions: EvalQuestion[];
  runner: RunnerVariant;
}

/** A few images of a `cobra batch` run, answered together (decoded as one batch of up to `batch` rows). */
export interface BatchImagesJob extends RunJobData {
  kind: "batch-images";
  /**
   * Each image's name as the output file writes it, and its absolute path on the coordinator's machine (a worker
   * given its own --images reads a relative name there instead).
   */
  images: BatchImage[];
  prompt: string;
  generation: BatchGeneration;
  batch: number;
}

/** Every kind of job. */
export type CobraJob = EvalGroupJob | BatchImagesJob;

/** What a worker stores for one question: its prediction line, or why it could not be answered. */
export type StoredAnswer = { prediction: Prediction } | { skipped: string };

/** Where a run lives in Redis: its answers and its jobs' ids. */
export interface RunKeys {
  /** The hash of its answers, one field per question id or image: a retried job overwrites, never duplicates. */
  answers: string;
  /** BullMQ job ids of the run share this prefix. */
  jobPrefix: string;
}

export const runKeys = (kind: "eval" | "batch", run: string): RunKeys => ({
  answers: `cobra:${kind}:${run}:answers`,
  jobPrefix: `${kind}-${run}-`,
});

/**
 * A job's id, from its run and what it answers (`key`): adding the same job twice adds nothing. BullMQ refuses ":"
 * in custom ids, hence a hash.
 */
export const jobId = (keys: RunKeys, key: string) =>
  `${keys.jobPrefix}${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;

/** An eval group's job id, from its image and token budget (which splits a group). */
export const evalJobId = (keys: RunKeys, group: readonly EvalQuestion[]) =>
  jobId(keys, `${group[0].image}\u0000${JSON.stringify(group[0].answer)}`);
