import { InvalidArgumentError } from "@cobra-ts/core";
import type { EvalTask, LoadOptions, Prediction, QuestionId, SlimPool } from "../task.js";

/** The split asked for, or the task's default; an unknown one lists the choices. */
export function chosenSplit(task: Pick<EvalTask, "name" | "splits">, options: LoadOptions): string {
  const splits = task.splits ?? [];
  const split = options.split ?? splits[0];
  if (!splits.includes(split))
    throw new InvalidArgumentError(
      `${task.name} has no split ${JSON.stringify(options.split)}; choose one of ${splits.join(", ")}`,
    );
  return split;
}

/** The key a question id has in maps: GQA's "201307251" and VQAv2's 201307251 stay apart as typed. */
export function idKey(id: QuestionId): string {
  return typeof id === "number" ? `n${id}` : `s${id}`;
}

/**
 * The index of the likelier choice from a prediction's recorded probabilities (numpy's argmax: the first on a
 * tie), or null when they are not there.
 */
export function choiceByProbability(prediction: Prediction, choices: readonly string[]): number | null {
  const p = prediction.probabilities;
  if (!p || typeof p !== "object") return null;
  const values = choices.map((c) => p[c]);
  if (!values.every((v) => typeof v === "number" && !Number.isNaN(v))) return null;
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * This part's place in a list of parts that vlm-evaluation shuffles as one (POPE's splits, RefCOCO's datasets):
 * `countOf` gives another part's size, or null when its file is not there, and then this part is shuffled
 * alone (metrics.json records which).
 */
export async function partOfPool<P>(
  parts: readonly P[],
  own: P,
  ownCount: number,
  countOf: (part: P) => Promise<number | null>,
  describe: { pool: string; alone: string },
): Promise<SlimPool> {
  const sizes: number[] = [];
  for (const part of parts) {
    const n = part === own ? ownCount : await countOf(part);
    if (n === null) return { size: ownCount, offset: 0, description: describe.alone };
    sizes.push(n);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { size: sum(sizes), offset: sum(sizes.slice(0, parts.indexOf(own))), description: describe.pool };
}
