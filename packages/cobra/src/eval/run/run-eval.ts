import { mkdir, open, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AbortError, FileNotFoundError, ImageDecodeError, InvalidArgumentError } from "@cobra-ts/core";
import pkg from "../../../package.json" with { type: "json" };
import type { RunProgress } from "../../run-progress.js";
import type { CobraResult } from "../../runtime/cobra.js";
import { IncompleteRunError, TaskDataMismatchError } from "../errors.js";
import { slimSubset, VLM_EVAL_SEED } from "../subset.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { idKey } from "../tasks/common.js";
import { type AskSettings, type EvalEngine, predictionOf, tokensFor } from "./answer.js";
import { PREDICTIONS_FILE, readPredictionsFile, resumePredictions } from "./predictions-file.js";
import { claimRunFolder, type RunConfig, writeFileAtomic } from "./run-config.js";
import { type RunnerVariant, runnerVariant, setsDecoding } from "./variant.js";

export const METRICS_FILE = "metrics.json";

export type { RunProgress } from "../../run-progress.js";

export interface RunEvalOptions {
  task: EvalTask;
  dataDir: string;
  split?: string;
  imagesDir: string;
  outDir: string;
  /** The model folder, as recorded in run.json and metrics.json. */
  model: string;
  /** Loaded only when a question is left to answer (a finished run rescored needs no model). */
  loadEngine: () => Promise<EvalEngine<string>>;
  limit?: number;
  seed?: number;
  variant?: Readonly<Record<string, string>>;
  /** Variant keys read by the caller (e.g. the CLI's backend choice); the runner accepts them as known. */
  callerVariantKeys?: readonly string[];
  onProgress?: (p: RunProgress) => void;
  /** Stops the run between (or inside) batches; what was answered stays, and the same command resumes. */
  signal?: AbortSignal;
  /** One line of news for the user (a cut torn line, a missing image). */
  log?: (line: string) => void;
  /** Who answers the questions left: by default this process (`loadEngine`); `--queue` hands them to workers. */
  answerer?: PendingAnswerer;
}

export interface Unanswered {
  question_id: EvalQuestion["questionId"];
  image: string;
  reason: string;
}

export interface RunResult {
  metrics: EvalMetrics;
  unanswered: Unanswered[];
}

/**
 * Runs a task: questions grouped by image, one image pass each (`look`), every question of that image answered
 * from the state after it and decoded together as one batch; each batch's answers appended to
 * `<out>/predictions.jsonl` as it finishes, so a killed run started again with the same arguments skips what is
 * done; `<out>/metrics.json` written at the end by the task's official scorer.
 */
export async function runEval(options: RunEvalOptions): Promise<RunResult> {
  const { task, outDir } = options;
  const variant = { ...(options.variant ?? {}) };
  const runner = runnerVariant(variant, options.callerVariantKeys ?? [], task);
  const load: LoadOptions = { dataDir: options.dataDir, split: options.split, variant };
  const split = task.splits ? (options.split ?? task.splits[0]) : (options.split ?? null);

  const all = await task.questions(load);
  checkUniqueIds(all, task.name);
  if (setsDecoding(runner) && all.some((q) => q.answer.kind === "choice"))
    throw new InvalidArgumentError(
      `${task.name} answers from the first step's probabilities of its two choices, as the official harness ` +
        "does: decoding settings (do_sample, temperature, top_k, top_p, repetition_penalty, sample_seed) do not apply",
    );
  const seed = options.seed ?? VLM_EVAL_SEED;
  let questions = all;
  let subset: Record<string, unknown> | null = null;
  if (options.limit !== undefined) {
    const official = byOfficialQuestion(all);
    const pool = task.slimPool
      ? await task.slimPool(load, official.length)
      : { size: official.length, offset: 0, description: "the task's questions in file order" };
    questions = slimSubset(official, options.limit, seed, pool).flat();
    subset = { limit: options.limit, seed, of: official.length, pool: pool.description };
  }

  await mkdir(outDir, { recursive: true });
  const config: RunConfig = {
    task: task.name,
    split,
    model: resolve(options.model),
    limit: options.limit ?? null,
    seed,
    variant,
  };
  await claimRunFolder(outDir, config);

  const file = join(outDir, PREDICTIONS_FILE);
  const before = await resumePredictions(file);
  if (before.cutBytes > 0)
    options.log?.(`${file}: cut a torn last line (${before.cutBytes} bytes) left by a run that was stopped`);
  const wanted = new Map(questions.map((q) => [idKey(q.questionId), q]));
  const foreign = before.predictions.filter((p) => !wanted.has(idKey(p.question_id)));
  if (foreign.length > 0)
    throw new TaskDataMismatchError(
      `${file} answers ${foreign.length} questions this run does not ask (first: ` +
        `${JSON.stringify(foreign[0].question_id)}): it belongs to another run; give another --out`,
    );
  const answered = new Set(before.predictions.map((p) => idKey(p.question_id)));
  const pending = questions.filter((q) => !answered.has(idKey(q.questionId)));

  const unanswered: Unanswered[] = [];
  if (pending.length > 0) {
    const out = await open(file, "a");
    const started = performance.now();
    const progress = (doneNow: number) =>
      options.onProgress?.({
        done: answered.size + doneNow,
        total: questions.length,
        doneNow,
        elapsedMs: performance.now() - started,
      });
    try {
      if (before.needsNewline) await out.write("\n");
      progress(0);
      await (options.answerer ?? answerHere)(
        {
          groups: groupByImage(pending),
          runner,
          total: questions.length,
          doneBefore: answered.size,
          write: async (lines) => void (await out.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(""))),
          skip: (group, reason) => {
            options.log?.(
              `not answered: ${group.length} question${group.length === 1 ? "" : "s"} (${group
                .slice(0, 3)
                .map((q) => JSON.stringify(q.questionId))
                .join(", ")}${group.length > 3 ? ", ..." : ""}) about ${group[0].image}: ${reason}`,
            );
            for (const q of group) unanswered.push({ question_id: q.questionId, image: q.image, reason });
          },
          progress,
        },
        options,
      );
    } finally {
      await out.close();
    }
  }

  // No file: nothing was asked (--limit 0) or every image was missing.
  const { predictions } = await readPredictionsFile(file).catch((e) => {
    if (e instanceof FileNotFoundError) return { predictions: [] as Prediction[] };
    throw e;
  });
  // Nothing answered has nothing to score (the free-text scorers refuse an empty list, as `eval score` should);
  // metrics.json is still written, so that a run whose images are all missing lists them.
  const scored: EvalMetrics =
    predictions.length > 0
      ? await task.score(predictions, load)
      : { task: task.name, split, n_examples: 0, metrics: {} };
  const metrics: EvalMetrics = {
    ...scored,
    model: config.model,
    variant,
    n_questions: questions.length,
    subset,
    unanswered,
    software: { name: pkg.name, version: pkg.version },
  };
  await writeFileAtomic(join(outDir, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
  if (unanswered.length > 0)
    throw new IncompleteRunError(
      `${unanswered.length} of ${questions.length} questions were not answered (first: question ` +
        `${JSON.stringify(unanswered[0].question_id)}, ${unanswered[0].reason}); ${join(outDir, "metrics.json")} ` +
        "scores the answered ones and lists the rest: fix the images and run the same command again to finish",
    );
  return { metrics, unanswered };
}

/**
 * The questions as the official files count them, in file order: a question's other forms (`officialId`) join
 * it, wherever they are listed. vlm-evaluation's slim sets shuffle these and ask every form of those kept.
 */
function byOfficialQuestion(questions: readonly EvalQuestion[]): EvalQuestion[][] {
  return groupInOrder(questions, (q) => idKey(q.officialId ?? q.questionId));
}

/** Items grouped by key, groups in first-seen order (Node 20 has no Map.groupBy). */
function groupInOrder<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return [...groups.values()];
}

function checkUniqueIds(questions: readonly EvalQuestion[], task: string): void {
  const seen = new Set<string>();
  for (const q of questions) {
    const key = idKey(q.questionId);
    if (seen.has(key))
      throw new TaskDataMismatchError(
        `${task}: question id ${JSON.stringify(q.questionId)} appears twice in the data`,
      );
    seen.add(key);
  }
}

/** The questions left to answer, handed to whoever answers them: this process, or workers through a queue. */
export interface PendingWork {
  /** By image (and token budget), one image pass each, in the order a local run answers them. */
  groups: EvalQuestion[][];
  runner: RunnerVariant;
  total: number;
  /** Answered before this run started (in predictions.jsonl). */
  doneBefore: number;
  /** Appends answers to predictions.jsonl. */
  write(lines: Prediction[]): Promise<void>;
  /** Records questions that cannot be answered (a missing image): listed in metrics.json, never dropped. */
  skip(questions: readonly EvalQuestion[], reason: string): void;
  /** `doneNow` answered by this run so far (written or not yet). */
  progress(doneNow: number): void;
}

/** Answers `work.groups`; the default answers them here, one group after another. */
export type PendingAnswerer = (work: PendingWork, options: RunEvalOptions) => Promise<void>;

/** Questions of one image (in first-seen order), split further by token budget so a batch shares its limit. */
function groupByImage(questions: readonly EvalQuestion[]): EvalQuestion[][] {
  return groupInOrder(questions, (q) => `${q.image}\u0000${tokensFor(q.answer)}`);
}

/** Questions of one group left unanswered, and why (the image is missing or does not decode). */
export interface SkippedGroup {
  questions: EvalQuestion[];
  reason: string;
}

/**
 * One image group answered: its image read once (`look`), its questions in batches, each batch's predictions
 * handed to `write`. A missing or undecodable image returns the questions it left; anything else throws.
 */
export async function answerImageGroup(
  group: readonly EvalQuestion[],
  ask: {
    imagesDir: string;
    runner: RunnerVariant;
    engine: () => Promise<EvalEngine<string>>;
    signal?: AbortSignal;
    write(predictions: Prediction[]): Promise<void>;
  },
): Promise<SkippedGroup | null> {
  const path = join(ask.imagesDir, group[0].image);
  const missing = await stat(path).then(
    (s) => (s.isFile() ? null : "not a file"),
    (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? "image not found" : `cannot read it (${e.code})`),
  );
  if (missing) return { questions: [...group], reason: `${missing}: ${path}` };
  const engine = await ask.engine();
  const tokenizer = engine.parts.tokenizer;
  const maxNewTokens = ask.runner.maxNewTokens ?? tokensFor(group[0].answer);
  let written = 0;
  try {
    await answerGroup(
      engine,
      path,
      group,
      { ...ask.runner.decoding, maxNewTokens, signal: ask.signal },
      ask.runner,
      async (chunk) => {
        await ask.write(chunk.map(({ question, result }) => predictionOf(question, result, tokenizer)));
        written += chunk.length;
      },
    );
  } catch (e) {
    // An image that exists but does not decode is reported like a missing one; anything else stops the run.
    if (!(e instanceof ImageDecodeError)) throw e;
    return { questions: group.slice(written), reason: e.message };
  }
  return null;
}

/** The default answerer: every group here, the model loaded once a question is left to answer. */
const answerHere: PendingAnswerer = async (work, options) => {
  let engine: Promise<EvalEngine<string>> | null = null;
  let doneNow = 0;
  for (const group of work.groups) {
    if (options.signal?.aborted) throw stopped(work.doneBefore + doneNow, work.total);
    try {
      const skipped = await answerImageGroup(group, {
        imagesDir: options.imagesDir,
        runner: work.runner,
        engine: () => (engine ??= options.loadEngine()),
        signal: options.signal,
        write: async (predictions) => {
          await work.write(predictions);
          doneNow += predictions.length;
          work.progress(doneNow);
        },
      });
      if (skipped) work.skip(skipped.questions, skipped.reason);
    } catch (e) {
      if (e instanceof AbortError) throw stopped(work.doneBefore + doneNow, work.total);
      throw e;
    }
  }
};

function stopped(done: number, total: number): AbortError {
  return new AbortError(
    `stopped with ${done} of ${total} questions answered (kept in predictions.jsonl): run the same command to resume`,
  );
}

type Answered = { question: EvalQuestion; result: CobraResult }[];

/** One image pass and its questions in batches of `runner.batch`; or, with image_reuse=off, a full pass each. */
async function answerGroup(
  engine: EvalEngine<string>,
  path: string,
  group: readonly EvalQuestion[],
  ask: AskSettings,
  runner: RunnerVariant,
  done: (chunk: Answered) => Promise<void>,
): Promise<void> {
  if (!runner.imageReuse) {
    for (const question of group)
      await done([
        { question, result: await engine.generate({ image: path, prompt: question.prompt, ...ask }) },
      ]);
    return;
  }
  const session = await engine.look(path, { signal: ask.signal });
  for (let i = 0; i < group.length; i += runner.batch) {
    const batch = group.slice(i, i + runner.batch);
    const results = await session.askEach(
      batch.map((q) => q.prompt),
      ask,
    );
    await done(batch.map((question, j) => ({ question, result: results[j] })));
  }
}
