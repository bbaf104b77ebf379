import { InvalidArgumentError } from "@cobra-ts/core";
import { TaskDataMismatchError } from "../errors.js";
import type { Prediction, QuestionId } from "../task.js";

export interface Matched<T> {
  prediction: Prediction;
  answer: string;
  truth: T;
}

/**
 * Pairs each prediction with its ground truth by question id, compared as text (GQA's ids are strings, and a
 * predictions file may write VQAv2's or POPE's numbers either way). The official scripts score the questions of
 * their (slim) annotation file; here the predicted questions are that subset. No predictions at all, a question
 * predicted twice or an answer that is not text is an InvalidArgumentError; ids that `source` (the annotation
 * file, or the split) does not have mean the predictions belong to another task or split: a
 * TaskDataMismatchError, never a silent skip.
 */
export function matchPredictions<T>(
  task: string,
  predictions: readonly Prediction[],
  truth: ReadonlyMap<string, T>,
  source: string,
): Matched<T>[] {
  if (predictions.length === 0) throw new InvalidArgumentError(`${task}: there are no predictions to score`);
  const seen = new Set<string>();
  const unknown: QuestionId[] = [];
  const matched: Matched<T>[] = [];
  for (const prediction of predictions) {
    const id = String(prediction.question_id);
    if (seen.has(id))
      throw new InvalidArgumentError(
        `${task}: question ${id} is predicted twice; keep one line per question`,
      );
    seen.add(id);
    if (typeof prediction.answer !== "string")
      throw new InvalidArgumentError(`${task}: the answer to question ${id} is not a string`);
    const t = truth.get(id);
    if (t === undefined) unknown.push(prediction.question_id);
    else matched.push({ prediction, answer: prediction.answer, truth: t });
  }
  if (unknown.length > 0)
    throw new TaskDataMismatchError(
      `${task}: ${unknown.length} of ${predictions.length} predictions have question ids that ${source} does ` +
        `not have (first: ${JSON.stringify(unknown[0])}); were they made for another task or split?`,
    );
  return matched;
}
