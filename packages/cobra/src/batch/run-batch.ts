import { AbortError, InvalidArgumentError } from "@cobra-ts/core";
import type { RunProgress } from "../run-progress.js";
import { type AnswerImagesOptions, answerImages, type BatchEngine } from "./answer-images.js";
import { type BatchRun, generationRecord, openBatchOut } from "./batch-file.js";
import { IMAGE_EXTENSIONS, listImages } from "./image-list.js";
import { modelIdentity } from "./model-identity.js";

export interface RunBatchOptions extends Omit<AnswerImagesOptions, "signal"> {
  /** A folder of images, or a list file (one path a line). */
  images: string;
  /** The JSON Lines output; a rerun with the same arguments resumes it. */
  out: string;
  /** The model folder: its identity is checked against the output file before the model loads. */
  model: string;
  /** Loaded only when an image is left to answer (a finished run started again needs no model). */
  loadEngine: () => Promise<BatchEngine>;
  retryErrors?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** One line of news for the user (an image that failed, a cut torn line). */
  log?: (line: string) => void;
}

export interface BatchSummary {
  /** Images listed. */
  total: number;
  /** Of them, done by an earlier run of the same command. */
  before: number;
  /** Answered or failed by this run. */
  doneNow: number;
  /** Error lines in the file, this run's and earlier ones'. */
  errors: number;
  /** How long this run's images took, from the model loaded to the last line written (0 when none was left). */
  answerMs: number;
}

/**
 * `cobra batch` run locally: one prompt about every image, a line per image appended to `out` as each finishes.
 * Started again with the same arguments it skips the images the file already has a line for.
 */
export async function runBatch(options: RunBatchOptions): Promise<BatchSummary> {
  const images = await listImages(options.images);
  if (images.length === 0)
    throw new InvalidArgumentError(
      `--images ${options.images} lists no image (image files end in ${[...IMAGE_EXTENSIONS].join(", ")})`,
    );
  const run: BatchRun = {
    prompt: options.prompt,
    ...(await modelIdentity(options.model)),
    generation: generationRecord(options.generation),
  };
  const out = await openBatchOut(options.out, run, { retryErrors: options.retryErrors, log: options.log });
  try {
    const before = images.filter((i) => out.done.has(i.image)).length;
    const pending = images.filter((i) => !out.done.has(i.image));
    let doneNow = 0;
    let started = performance.now();
    let answerMs = 0;
    const report = () =>
      options.onProgress?.({
        done: before + doneNow,
        total: images.length,
        doneNow,
        elapsedMs: performance.now() - started,
      });
    const stopped = () =>
      new AbortError(
        `stopped with ${before + doneNow} of ${images.length} images done (kept in ${options.out}): ` +
          "run the same command to resume",
      );
    if (pending.length > 0) {
      report();
      const engine = await options.loadEngine();
      started = performance.now();
      try {
        for await (const answer of answerImages(engine, pending, options)) {
          await out.append(answer);
          doneNow++;
          if ("error" in answer) options.log?.(`${answer.image}: ${answer.error}`);
          report();
        }
      } catch (e) {
        throw e instanceof AbortError || options.signal?.aborted ? stopped() : e;
      }
      if (options.signal?.aborted) throw stopped(); // before the model was even loaded
      answerMs = performance.now() - started;
    }
    return { total: images.length, before, doneNow, errors: out.errors, answerMs };
  } finally {
    await out.close();
  }
}
