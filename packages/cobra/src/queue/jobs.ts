import { createHash } from "node:crypto";
import type { RunnerVariant } from "../eval/run/variant.js";
import type { EvalQuestion, Prediction } from "../eval/task.js";
import type { BackendChoice } from "../runtime/backends.js";
import type { ModelIdentity } from "./model-identity.js";

/** The one BullMQ queue every kind of cobra job goes through; workers dispatch on the payload's `kind`. */
export const QUEUE_NAME = "cobra";

/** One image group of an eval run: the image and all its questions, so the worker reads the image once. */
export interface EvalGroupJob {
  kind: "eval-group";
  /** The run's id (`<out>/queue.json`). */
  run: string;
  /** The model the run was started with: a worker with another one refuses the job. */
  model: ModelIdentity;
  /** The coordinator's --images: a worker reads the images there unless it is given its own --images. */
  imagesDir: string;
  questions: EvalQuestion[];
  runner: RunnerVariant;
  backend: BackendChoice;
}

/** Every kind of job; `cobra batch --queue` adds its own. */
export type CobraJob = EvalGroupJob;

/** What a worker stores for one question: its prediction line, or why it could not be answered. */
export type StoredAnswer = { prediction: Prediction } | { skipped: string };

/** The Redis hash of a run's answers, one field per question id: a retried job overwrites, never duplicates. */
export const answersKey = (run: string) => `cobra:eval:${run}:answers`;

/** BullMQ job ids of a run share this prefix. */
export const evalJobPrefix = (run: string) => `eval-${run}-`;

/**
 * A group's job id, from the run and the group's image (and token budget, which splits a group): adding the same
 * group twice adds nothing. BullMQ refuses ":" in custom ids, hence a hash.
 */
export function evalJobId(run: string, group: readonly EvalQuestion[]): string {
  const key = `${group[0].image}\u0000${JSON.stringify(group[0].answer)}`;
  return `${evalJobPrefix(run)}${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}
