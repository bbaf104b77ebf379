import { CobraError } from "@cobra-ts/core";

/** A `cobra batch` output file that is not one: a line that is not JSON, a field missing, an image twice. */
export class BatchFileError extends CobraError {
  override name = "BatchFileError";
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}: line ${line}: ${problem}`);
  }
}

/** The output file holds answers of another run (another prompt, model or generation settings). */
export class BatchRunMismatchError extends CobraError {
  override name = "BatchRunMismatchError";
}
