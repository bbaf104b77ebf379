import { resolve } from "node:path";
import { AbortError, InvalidArgumentError } from "@cobra-ts/core";
import { type ModelIdentity, modelIdentity } from "../model-identity.js";
import type { RunProgress } from "../run-progress.js";
import {
  type AnswerImagesOptions,
  answerImages,
  type BatchAnswer,
  type BatchEngine,
} from "./answer-images.js";
import { type BatchRun, generationRecord, openBatchOut } from "./batch-file.js";
import { type BatchImage, IMAGE_EXTENSIONS, listImages } from "./image-list.js";

export interface RunBatchOptions extends Omit<AnswerImagesOptions, "signal"> {
  /** A folder of images, or a list file (one path a line). */
  images: string;
  /** The JSON Lines output; a rerun with the same arguments resumes it. */
  out: string;
  /** The model folder: its identity is checked against the output file before the model loads. */
  model: string;
  /** Loaded only when an image is left to answer here (a finished run started again needs no model). */
  loadEngine: () => Promise<BatchEngine>;
  retryErrors?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** One line of news for the user (an image that failed, a cut torn line). */
  log?: (line: string) => void;
  /** Who answers the images left: by default this process (`loadEngine`); `--queue` hands them to workers. */
  answerer?: BatchAnswerer;
}

/** The images left, handed to whoever answers them: this process, or workers through a queue. */
export interface PendingImages {
  /** In the order of --images. */
  images: BatchImage[];
  run: BatchRun;
  model: ModelIdentity;
  total: number;
  /** Done before this run started (lines in the output file). */
  doneBefore: number;
  /** Appends an image's outcome to the output file (each pending image once). */
  write(answer: BatchAnswer): Promise<void>;
  /** `doneNow` answered by this run so far, written or not yet. */
  progress(doneNow: number): void;
  /** The answering starts now (the model is loaded): the rate counts from here. */
  answering(): void;
}

/** Answers `work.images`, each through `work.write`; the default answers them here. */
export type BatchAnswerer = (work: PendingImages, options: RunBatchOptions) => Promise<void>;

export interface BatchSummary {
  /** Images listed. */
  total: number;
  /** Of them, done by an earlier run of the same command. */
  before: number;
  /** Answered or failed by this run. */
  doneNow: number;
  /** Error lines in the file, this run's and earlier ones'. */
  errors: number;
  /** How long this run's images took, from the model loaded (or the jobs queued) to the last line written. */
  answerMs: number;
}

/**
 * `cobra batch`: one prompt about every image, a line per image appended to `out`. Started again with the same
 * arguments it skips the images the file already has a line for.
 */
export async function runBatch(options: RunBatchOptions): Promise<BatchSummary> {
  const images = await listImages(options.images);
  if (images.length === 0)
    throw new InvalidArgumentError(
      `--images ${options.images} lists no image (image files end in ${[...IMAGE_EXTENSIONS].join(", ")})`,
    );
  const model = await modelIdentity(options.model);
  const run: BatchRun = {
    prompt: options.prompt,
    model: resolve(options.model),
    model_sha256: model.digest,
    generation: generationRecord(options.generation),
  };
  const out = await openBatchOut(options.out, run, { retryErrors: options.retryErrors, log: options.log });
  try {
    const before = images.filter((i) => out.done.has(i.image)).length;
    const pending = images.filter((i) => !out.done.has(i.image));
    let doneNow = 0;
    let shown = 0;
    let started = performance.now();
    let answerMs = 0;
    const report = (n: number) => {
      shown = Math.max(shown, n);
      options.onProgress?.({
        done: before + shown,
        total: images.length,
        doneNow: shown,
        elapsedMs: performance.now() - started,
      });
    };
    if (pending.length > 0) {
      report(0);
      await (options.answerer ?? answerHere)(
        {
          images: pending,
          run,
          model,
          total: images.length,
          doneBefore: before,
          async write(answer) {
            await out.append(answer);
            doneNow++;
            if ("error" in answer) options.log?.(`${answer.image}: ${answer.error}`);
            report(doneNow);
          },
          progress: report,
          answering: () => {
            started = performance.now();
          },
        },
        options,
      );
      answerMs = performance.now() - started;
    }
    return { total: images.length, before, doneNow, errors: out.errors, answerMs };
  } finally {
    await out.close();
  }
}

/** The default answerer: every image here, in one continuous batch, each line appended as it finishes. */
const answerHere: BatchAnswerer = async (work, options) => {
  let doneNow = 0;
  const stopped = () =>
    new AbortError(
      `stopped with ${work.doneBefore + doneNow} of ${work.total} images done (kept in ${options.out}): ` +
        "run the same command to resume",
    );
  try {
    const engine = await options.loadEngine();
    work.answering();
    for await (const answer of answerImages(engine, work.images, options)) {
      await work.write(answer);
      doneNow++;
    }
  } catch (e) {
    throw e instanceof AbortError || options.signal?.aborted ? stopped() : e;
  }
  if (options.signal?.aborted) throw stopped(); // before the model was even loaded
};
