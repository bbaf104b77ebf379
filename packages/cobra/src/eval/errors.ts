import { CobraError, InvalidArgumentError } from "@cobra-ts/core";

/**
 * A benchmark's annotation file (or a run's own file) is not what its project publishes: not JSON, or a field
 * missing or of the wrong type. Names the file and the field (null: the file as a whole).
 */
export class AnnotationFormatError extends CobraError {
  override name = "AnnotationFormatError";
  constructor(
    readonly file: string,
    readonly field: string | null,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${field ? `: field ${field}` : ""}: ${problem}`, options);
  }
}

/**
 * The data given does not belong to the task (another benchmark's folder, predictions of another split...): a
 * wrong argument, so it is also an InvalidArgumentError.
 */
export class TaskDataMismatchError extends InvalidArgumentError {
  override name = "TaskDataMismatchError";
}

/** A run ended with questions it could not answer (e.g. a missing image): they are listed, never dropped. */
export class IncompleteRunError extends CobraError {
  override name = "IncompleteRunError";
}
