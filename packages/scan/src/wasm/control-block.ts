/**
 * The first page of the kernels' shared memory is the thread control block (Int32 slots); data starts at
 * DATA_START, so no data pointer is ever 0 (0 means "absent" to the kernels).
 */
export const CTRL = {
  /** Bumped by the main thread to wake the workers for a job. */
  GENERATION: 0,
  /** Set to 1 to make workers exit. */
  QUIT: 2,
  /** Set to 1 by a worker whose kernel threw. */
  ERROR: 3,
  /**
   * The job's sequence number (high bits) and next unclaimed call (low CALL_BITS): every thread, the calling
   * one included, claims calls by compare-and-swap, so a worker that wakes after the job ended (or after the
   * next one started) can never take a call of the wrong job.
   */
  NEXT: 4,
  /** Byte offset of the job's call list. */
  LIST: 5,
  /** Number of calls in the list. */
  COUNT: 6,
  /** Calls of the job finished: the caller waits for DONE == COUNT, not for every worker to check in. */
  DONE: 7,
} as const;

/** Bits of CTRL.NEXT that index the call (at most 4096 calls per job). */
export const CALL_BITS = 12;

/** Int32 slots of one call in a call list: the kernel index (KERNEL_NAMES) then up to 19 arguments. */
export const CALL_STRIDE = 20;

/** Bytes reserved for the control block. */
export const DATA_START = 4096;

export const MAX_WORKERS = 256;
