import {
  type LineReader,
  type ParsedLines,
  readJsonLines,
  resumeJsonLines,
} from "../../jsonl/append-only-jsonl.js";
import { AnnotationFormatError } from "../errors.js";
import type { Prediction } from "../task.js";
import { idKey } from "../tasks/common.js";

export const PREDICTIONS_FILE = "predictions.jsonl";

export type ParsedPredictions = Omit<ParsedLines<Prediction>, "records"> & { predictions: Prediction[] };

/**
 * `predictions.jsonl`: one `{"question_id", "answer", ...}` object a line. A bad line, a missing field or an id
 * given twice is an error naming the line.
 */
function predictionsReader(file: string): LineReader<Prediction> {
  const lineOf = new Map<string, number>();
  return {
    what: "predictions file",
    notJson: (_line, problem) => new AnnotationFormatError(file, null, problem),
    check(value, line) {
      const p = value as Prediction;
      const where = `line ${line}`;
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
      lineOf.set(key, line);
      return p;
    },
  };
}

const asPredictions = <T extends ParsedLines<Prediction>>({ records, ...rest }: T) => ({
  ...rest,
  predictions: records,
});

/** Reads `predictions.jsonl`; a torn last line (a kill mid-write) is reported in `tornTail`, not thrown. */
export async function readPredictionsFile(file: string): Promise<ParsedPredictions> {
  return asPredictions(await readJsonLines(file, predictionsReader(file)));
}

/** For a run resuming: the predictions so far, a torn last line cut off (it was never a whole answer). */
export async function resumePredictions(file: string): Promise<ParsedPredictions & { cutBytes: number }> {
  return asPredictions(await resumeJsonLines(file, predictionsReader(file)));
}
