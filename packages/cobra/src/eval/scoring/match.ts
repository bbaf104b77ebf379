import { InvalidArgumentError } from "@cobra-ts/core";
import type { Prediction } from "../task.js";

export interface Matched<T> {
  prediction: Prediction;
  answer: string;
  truth: T;
}

/**
 * Pairs each prediction with its ground truth by question id (compared as text: GQA's ids are strings, and a
 * predictions file may write VQAv2's numbers either way). The official scripts score the questions of their
 * (slim) annotation file; here the predicted questions are that subset. A question predicted twice, an id the
 * annotations do not hold, or no predictions at all is an error, never a silent skip.
 */
export function matchPredictions<T>(
  task: string,
  predictions: readonly Prediction[],
  truth: ReadonlyMap<string, T>,
  annotationFile: string,
): Matched<T>[] {
  if (predictions.length === 0) throw new InvalidArgumentError(`${task}: there are no predictions to score`);
  const seen = new Set<string>();
  return predictions.map((prediction) => {
    const id = String(prediction.question_id);
    if (seen.has(id)) {
      throw new InvalidArgumentError(
        `${task}: question ${id} is predicted twice; keep one line per question`,
      );
    }
    seen.add(id);
    const t = truth.get(id);
    if (t === undefined) {
      throw new InvalidArgumentError(
        `${task}: question ${id} is not in ${annotationFile}; were these predictions made for another task or split?`,
      );
    }
    if (typeof prediction.answer !== "string") {
      throw new InvalidArgumentError(`${task}: the answer to question ${id} is not a string`);
    }
    return { prediction, answer: prediction.answer, truth: t };
  });
}
