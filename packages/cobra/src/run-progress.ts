/** How far a run that a rerun resumes (`eval run`, `batch`) has come. */
export interface RunProgress {
  /** Items done, this run and before it. */
  done: number;
  total: number;
  /** Done by this process (the rate counts only these). */
  doneNow: number;
  elapsedMs: number;
}
