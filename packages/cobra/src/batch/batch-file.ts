import { type FileHandle, mkdir, open, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../eval/run/run-config.js";
import { type LineReader, resumeJsonLines } from "../jsonl/append-only-jsonl.js";
import { canonicalJson } from "../jsonl/canonical-json.js";
import type { BatchAnswer, BatchGeneration } from "./answer-images.js";
import { BatchFileError, BatchRunMismatchError } from "./errors.js";

/** What makes two runs the same run: every line of an output file carries it, and a resume must match it. */
export interface BatchRun {
  prompt: string;
  /** The model folder, as given (resolved). */
  model: string;
  /** The model's identity (`ModelIdentity.digest`: its cobra.json less the `source` section, hashed). */
  model_sha256: string;
  /** The generation settings that change answers, snake_case, only those given (max_new_tokens always). */
  generation: Record<string, number | boolean>;
}

/** One line of the output: `{image, prompt, answer, tokens, stop_reason | error, model, model_sha256, generation}`. */
export type BatchLine = BatchAnswer & BatchRun;

/** The generation settings as a line records them. */
export function generationRecord(g: BatchGeneration): Record<string, number | boolean> {
  const fields = {
    max_new_tokens: g.maxNewTokens ?? 256,
    do_sample: g.doSample,
    temperature: g.temperature,
    top_k: g.topK,
    top_p: g.topP,
    min_p: g.minP,
    repetition_penalty: g.repetitionPenalty,
    seed: g.seed,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
    string,
    number | boolean
  >;
}

export function batchLine(run: BatchRun, answer: BatchAnswer): BatchLine {
  const { image, ...outcome } = answer;
  const { prompt, ...rest } = run;
  return { image, prompt, ...outcome, ...rest };
}

/** Checks each line's fields and that it belongs to `run`; an image answered twice is refused too. */
function batchLineReader(file: string, run: BatchRun): LineReader<BatchLine> {
  const lineOf = new Map<string, number>();
  const fail = (line: number, problem: string) => new BatchFileError(file, line, problem);
  return {
    what: "batch output file",
    notJson: (line, problem) =>
      fail(
        line,
        `${problem.replace(/^line \d+ /, "")}: not a file written by cobra batch; give another --out`,
      ),
    check(value, line) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw fail(
          line,
          "expected an object {image, prompt, answer, ...}: not a file written by cobra batch",
        );
      const v = value as Record<string, unknown>;
      for (const key of ["image", "prompt", "model_sha256"])
        if (typeof v[key] !== "string")
          throw fail(line, `field ${key}: expected a string: not a file written by cobra batch`);
      if (typeof v.answer !== "string" && typeof v.error !== "string")
        throw fail(line, "has neither an answer nor an error: not a file written by cobra batch");
      const differs = (
        [
          ["prompt", JSON.stringify],
          ["model_sha256", JSON.stringify],
          ["generation", canonicalJson],
        ] as const
      ).find(([key, show]) => show(v[key]) !== show(run[key]));
      if (differs) {
        const [key, show] = differs;
        const what =
          key === "model_sha256"
            ? `the model ${String(v.model)} (model sha256 ${v.model_sha256})`
            : `${key} ${show(v[key])}`;
        const now =
          key === "model_sha256"
            ? `the model ${run.model} (model sha256 ${run.model_sha256})`
            : show(run[key]);
        throw new BatchRunMismatchError(
          `${file} was written with ${what} (line ${line}); this run has ${now}. cobra batch never mixes two ` +
            "runs in one file: give another --out (or run with the same prompt, model and settings to resume)",
        );
      }
      const image = v.image as string;
      const first = lineOf.get(image);
      if (first !== undefined)
        throw fail(line, `${JSON.stringify(image)} again (first on line ${first}): keep one line per image`);
      lineOf.set(image, line);
      return value as BatchLine;
    },
  };
}

/** The output file of a run, opened to append: what it already holds, and where new lines go. */
export interface BatchOut {
  /** Images with a line (an answer or an error): a resumed run skips them. */
  readonly done: ReadonlySet<string>;
  /** Lines with an error, this run's included. */
  readonly errors: number;
  /** Appends one line and writes it through (one write call, so a kill leaves at most a torn last line). */
  append(answer: BatchAnswer): Promise<void>;
  /** Closes the file; one this run created and wrote nothing to is removed. */
  close(): Promise<void>;
}

export interface OpenBatchOutOptions {
  /** Drop the error lines first (the file is rewritten atomically without them) so those images are tried again. */
  retryErrors?: boolean;
  log?: (line: string) => void;
}

/**
 * Opens (or creates) a run's output file: every line is checked against `run` (another run's file is refused,
 * never overwritten or mixed), a torn last line left by a kill is cut, and lines are then appended.
 */
export async function openBatchOut(
  file: string,
  run: BatchRun,
  options: OpenBatchOutOptions = {},
): Promise<BatchOut> {
  let before = await resumeJsonLines(file, batchLineReader(file, run));
  if (before.cutBytes > 0)
    options.log?.(`${file}: cut a torn last line (${before.cutBytes} bytes) left by a run that was stopped`);
  const failed = before.records.filter((l) => "error" in l);
  if (options.retryErrors && failed.length > 0) {
    const kept = before.records.filter((l) => !("error" in l));
    await writeFileAtomic(file, kept.map((l) => `${JSON.stringify(l)}\n`).join(""));
    options.log?.(
      `${file}: dropped ${failed.length} error line${failed.length === 1 ? "" : "s"} to try those images again`,
    );
    before = { ...before, records: kept, needsNewline: false };
  }
  const existed = (await stat(file).catch(() => null)) !== null;
  await mkdir(dirname(file), { recursive: true });
  const handle: FileHandle = await open(file, "a");
  let appended = 0;
  if (before.needsNewline) await handle.write("\n");
  const done = new Set(before.records.map((l) => l.image));
  let errors = before.records.filter((l) => "error" in l).length;
  return {
    done,
    get errors() {
      return errors;
    },
    async append(answer) {
      await handle.write(`${JSON.stringify(batchLine(run, answer))}\n`);
      appended++;
      done.add(answer.image);
      if ("error" in answer) errors++;
    },
    // Opened up front, so an unwritable --out fails before any work; a run that then fails before its first
    // line (the model, or Redis, unreachable) leaves no empty file where there was none.
    async close() {
      await handle.close();
      if (!existed && appended === 0) await unlink(file).catch(() => {});
    },
  };
}
