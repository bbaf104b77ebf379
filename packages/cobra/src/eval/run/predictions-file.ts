import { readFile, truncate } from "node:fs/promises";
import { FileNotFoundError, FileSystemError } from "@cobra-ts/core";
import { AnnotationFormatError } from "../errors.js";
import type { Prediction } from "../task.js";
import { idKey } from "../tasks/common.js";

export const PREDICTIONS_FILE = "predictions.jsonl";

export interface ParsedPredictions {
  predictions: Prediction[];
  /** Bytes of whole lines: what a run resumes after. */
  wholeBytes: number;
  /** A last line cut short (a run killed mid-write): not JSON and with no newline after it. */
  tornTail: boolean;
  /** The file's last line is whole but lacks its newline (edited by hand): one must be written first. */
  needsNewline: boolean;
}

/**
 * Parses `predictions.jsonl`: one `{"question_id", "answer", ...}` object a line. A bad line, a missing field
 * or an id given twice is an error naming the line; only a torn last line (a kill between the bytes of one
 * write) is reported instead, for the runner to cut.
 */
export function parsePredictions(text: string, file: string): ParsedPredictions {
  const predictions: Prediction[] = [];
  const lineOf = new Map<string, number>();
  const lines = text.split("\n");
  let offset = 0;
  let tornTail = false;
  let needsNewline = false;
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1;
    const start = offset;
    offset += Buffer.byteLength(line) + (last ? 0 : 1);
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (last) {
        tornTail = true;
        return { predictions, wholeBytes: start, tornTail, needsNewline };
      }
      throw new AnnotationFormatError(
        file,
        null,
        `line ${i + 1} is not valid JSON (${(e as Error).message})`,
      );
    }
    const p = value as Prediction;
    const where = `line ${i + 1}`;
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new AnnotationFormatError(file, where, "expected an object {question_id, answer}");
    if (typeof p.question_id !== "string" && !Number.isSafeInteger(p.question_id))
      throw new AnnotationFormatError(file, `${where}.question_id`, "expected a number or a string");
    if (typeof p.answer !== "string")
      throw new AnnotationFormatError(file, `${where}.answer`, "expected a string");
    const key = idKey(p.question_id);
    const first = lineOf.get(key);
    if (first !== undefined)
      throw new AnnotationFormatError(
        file,
        `${where}.question_id`,
        `${JSON.stringify(p.question_id)} was already answered on line ${first}; keep one answer per question`,
      );
    lineOf.set(key, i + 1);
    predictions.push(p);
    if (last) needsNewline = true;
  }
  return { predictions, wholeBytes: offset, tornTail, needsNewline };
}

export async function readPredictionsFile(file: string): Promise<ParsedPredictions> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(file, "predictions file");
    throw new FileSystemError(`${file}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
  return parsePredictions(text, file);
}

/** For a run resuming: the predictions so far, a torn last line cut off (it was never a whole answer). */
export async function resumePredictions(file: string): Promise<ParsedPredictions & { cutBytes: number }> {
  let parsed: ParsedPredictions;
  try {
    parsed = await readPredictionsFile(file);
  } catch (e) {
    if (e instanceof FileNotFoundError)
      return { predictions: [], wholeBytes: 0, tornTail: false, needsNewline: false, cutBytes: 0 };
    throw e;
  }
  let cutBytes = 0;
  if (parsed.tornTail) {
    const size = Buffer.byteLength(await readFile(file, "utf8"));
    cutBytes = size - parsed.wholeBytes;
    await truncate(file, parsed.wholeBytes);
  }
  return { ...parsed, cutBytes };
}
