/**
 * What every `cobra eval` task provides: its questions read from the benchmark's official files, the way the
 * official harness asks them, and its official scorer. The runner (one image pass per image, resume, progress)
 * and the CLI know tasks only through this interface, so a task is one module in `tasks/`.
 */

/** The id a benchmark's official files give a question (GQA's are strings, VQAv2's numbers). */
export type QuestionId = string | number;

/** How a question is answered. */
export type AnswerMode =
  /** Greedy text, at most `maxNewTokens` tokens (VQAv2, GQA, TextVQA, VizWiz, RefCOCO boxes). */
  | { kind: "generate"; maxNewTokens: number }
  /**
   * The official harness's probability form (POPE, VSR): the first step's softmax over the vocabulary, read at
   * the first token of each choice; the answer is the likelier choice, and both probabilities are recorded.
   */
  | { kind: "choice"; choices: readonly [string, string] };

export interface EvalQuestion {
  questionId: QuestionId;
  /** The image's path relative to `--images`. Questions that share it share one image pass. */
  image: string;
  /** The user message exactly as the official harness words it (suffixes, OCR tokens, instructions). */
  prompt: string;
  answer: AnswerMode;
  /** Copied into the prediction line as is (e.g. RefCOCO's image size for the box conversion). */
  extra?: Record<string, unknown>;
  /**
   * Set on a second form of an official question (TextVQA's "<id>:pure"): the official id it asks again.
   * `--limit` shuffles and counts official questions, as vlm-evaluation does, and keeps each one's forms together.
   */
  officialId?: QuestionId;
}

/** One line of `predictions.jsonl`. */
export interface Prediction {
  question_id: QuestionId;
  answer: string;
  /** POPE / VSR: the probability of each choice, keyed by the choice. */
  probabilities?: Record<string, number>;
  [key: string]: unknown;
}

/** What `metrics.json` holds, and what `cobra eval score --json` prints. */
export interface EvalMetrics {
  task: string;
  split: string | null;
  n_examples: number;
  /** In percent (0-100), unrounded; a task may nest (VQAv2's `per_answer_type`). */
  metrics: Record<string, number | Record<string, number>>;
  [key: string]: unknown;
}

export interface LoadOptions {
  /** The folder holding the benchmark's official annotation files (`--data`). */
  dataDir: string;
  split?: string;
  /** `--variant key=value` pairs the task understands (e.g. textvqa `ocr=first|last|none`). */
  variant?: Readonly<Record<string, string>>;
}

/**
 * Where vlm-evaluation shuffles this task's questions as part of a larger list before taking its slim subsets:
 * POPE shuffles its three splits as one list and RefCOCO its three datasets' val sets, then take the first N of
 * each part. The questions are positions `offset .. offset + length - 1` of a list of `size`.
 */
export interface SlimPool {
  size: number;
  offset: number;
  /** Says how the pool was formed (recorded in metrics.json), e.g. "coco_pope_{adversarial,popular,random}". */
  description: string;
}

export interface EvalTask {
  /** The name used on the command line: `vqav2`, `pope`, `refcoco+`, ... */
  readonly name: string;
  /** Accepted splits, the first being the default; absent when the task has one. */
  readonly splits?: readonly string[];
  /** The `--variant` keys this task reads (the runner refuses keys nobody reads); absent: none. */
  readonly variantKeys?: readonly string[];
  /**
   * Optional: the larger list vlm-evaluation shuffles these questions in (see SlimPool). Absent: the task's own
   * questions, in `questions()` order, are the list (VQAv2, GQA, TextVQA, VizWiz, VSR).
   */
  slimPool?(options: LoadOptions, questionCount: number): Promise<SlimPool>;
  /** The questions, in the official files' order; a malformed file is a typed error naming file and field. */
  questions(options: LoadOptions): Promise<EvalQuestion[]>;
  /** Scores predictions with the official scorer's rules; reads the answers from the same official files. */
  score(predictions: readonly Prediction[], options: LoadOptions): Promise<EvalMetrics>;
}
