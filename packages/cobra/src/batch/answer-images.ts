import { FileNotFoundError, ImageDecodeError } from "@cobra-ts/core";
import { limitPromptIds, type SequenceOptions, type StopReason } from "@cobra-ts/mamba-lm";
import type { CobraEngine } from "../runtime/cobra.js";
import { Scheduler } from "../serve/scheduler.js";
import { StateCache } from "../serve/state-cache.js";
import type { BatchImage } from "./image-list.js";

/** What answering needs of a model: a loaded `Cobra` will do. */
export type BatchEngine = Pick<CobraEngine<string>, "parts" | "settings" | "promptString" | "encodeImage">;

/** Length, stops and sampling as `cobra generate` takes them; `seed` seeds each image's own sampler. */
export type BatchGeneration = SequenceOptions & { seed?: number };

/** One image's outcome: its answer, or why it has none (an image that is missing or does not decode). */
export type BatchAnswer =
  | {
      image: string;
      answer: string;
      /** Generated token ids, the end-of-text id included when the answer stopped on it. */
      tokens: number;
      stop_reason: StopReason;
    }
  | { image: string; error: string };

export interface AnswerImagesOptions {
  /** One user message, wrapped in the model's chat prompt (as `cobra generate --prompt`). */
  prompt: string;
  generation: BatchGeneration;
  /** Most images decoded together (the decode batch's rows). */
  batch: number;
  /** Stops the answers in flight (the generator then throws AbortError); those already yielded stand. */
  signal?: AbortSignal;
}

/** An image the run cannot read is that image's outcome; any other failure (the model's) stops the run. */
const isImageError = (e: unknown): e is Error =>
  e instanceof ImageDecodeError || e instanceof FileNotFoundError;

/**
 * Asks one prompt about each image, yielding each outcome as it finishes (so in finishing order, not in the
 * order given). Up to `batch` images are decoded together with continuous batching (the serve scheduler):
 * an image joins the batch as soon as its vision pass and prefill are done and leaves it the step its answer
 * ends, so a long answer never holds the others back. Each row is computed on its own and samples with its own
 * RNG, so every answer is the one `cobra generate` gives for that image alone.
 */
export async function* answerImages(
  engine: BatchEngine,
  images: Iterable<BatchImage>,
  options: AnswerImagesOptions,
): AsyncGenerator<BatchAnswer, void, undefined> {
  const { lm, tokenizer } = engine.parts;
  const { seed, ...sequence } = options.generation;
  // The prompt is the same for every image: encoded once, its length checked before any image is read.
  const promptIds = limitPromptIds(tokenizer.encode(engine.promptString({ prompt: options.prompt })), {
    maxPromptLength: sequence.maxPromptLength ?? engine.settings.maxPromptLength,
    promptOverflow: sequence.promptOverflow,
  });
  // One model call at a time: a vision pass beside a decode step makes two onnxruntime sessions share the cores
  // (each sized for all of them), and on a 2-core machine both then ran slower than one after the other.
  const exclusive = oneAtATime();
  const wrapped: Partial<typeof lm> = {
    prefill: (...args) => exclusive(() => lm.prefill(...args)),
    step: (...args) => exclusive(() => lm.step(...args)),
  };
  const lmOneAtATime = new Proxy(lm, {
    get(target, key) {
      const value = wrapped[key as keyof typeof lm] ?? Reflect.get(target, key, target);
      return typeof value === "function" && !(key in wrapped) ? value.bind(target) : value;
    },
  });
  const scheduler = new Scheduler(lmOneAtATime, tokenizer, new StateCache(0, 1), {
    maxBatch: options.batch,
    maxQueue: options.batch,
    // No request waits on another here: each prefill runs whole, as `generate` runs it.
    prefillChunk: Number.MAX_SAFE_INTEGER,
  });
  const stop = new AbortController();
  const live = new Set<AbortController>();
  stop.signal.addEventListener("abort", () => {
    for (const job of live) job.abort();
  });
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  const finished: BatchAnswer[] = [];
  let failure: { error: unknown } | null = null;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const pending = images[Symbol.iterator]();
  let exhausted = false;
  // Twice the batch in flight: a finished row's place is taken at once by an image already queued.
  const refill = () => {
    while (!exhausted && failure === null && !stop.signal.aborted && inFlight < 2 * options.batch) {
      const next = pending.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const { image, path } = next.value;
      inFlight++;
      // A signal of its own per image: the scheduler listens on each job's signal, and listeners on one shared
      // signal would pile up over a run of millions of images.
      const job = new AbortController();
      live.add(job);
      scheduler
        .submit({
          imageKey: "",
          encodeImage: async (signal) => (await exclusive(() => engine.encodeImage(path, signal))).projected,
          promptIds,
          options: sequence,
          seed,
          signal: job.signal,
        })
        .then(
          (r): BatchAnswer => ({ image, answer: r.text, tokens: r.ids.length, stop_reason: r.stopReason }),
          (e: unknown): BatchAnswer => {
            if (isImageError(e) && !stop.signal.aborted) return { image, error: `${e.name}: ${e.message}` };
            throw e;
          },
        )
        .then(
          (answer) => void finished.push(answer),
          (error: unknown) => void (failure ??= { error }),
        )
        .finally(() => {
          live.delete(job);
          inFlight--;
          refill();
          wake?.();
        });
    }
  };

  try {
    refill();
    while (inFlight > 0 || finished.length > 0) {
      if (failure) throw (failure as { error: unknown }).error;
      if (finished.length === 0) {
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = null;
        continue;
      }
      for (const answer of finished.splice(0)) yield answer;
    }
    if (failure) throw (failure as { error: unknown }).error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
    await scheduler.shutdown(0);
  }
}

/** Runs the functions given to it one after the other, each once the previous one has settled. */
function oneAtATime(): <T>(f: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (f) => {
    const run = last.then(f);
    last = run.catch(() => undefined);
    return run;
  };
}
