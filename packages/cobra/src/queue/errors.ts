import { CobraError } from "@cobra-ts/core";

/** Redis cannot be reached (at start, or for longer than the timeout mid-run). */
export class QueueConnectionError extends CobraError {
  override name = "QueueConnectionError";
}

/** A job of the run failed for good (a worker with another model, an error past its retries). */
export class QueueJobFailedError extends CobraError {
  override name = "QueueJobFailedError";
}
