/** Python's `string.punctuation`. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * vlm-evaluation's `GQAScorer.convert_results`: `translate` away `string.punctuation`, then `lower()`. The GQA
 * script then compares with the gold answer exactly.
 */
export function cleanGqaPrediction(answer: string): string {
  return answer.replace(ASCII_PUNCTUATION, "").toLowerCase();
}

export interface GqaItem {
  prediction: string;
  gold: string;
  isBalanced: boolean;
  /** `types.structural`: "query" questions are open, every other structure binary. */
  structural: string;
}

/**
 * The GQA evaluation script's balanced accuracy: only `isBalanced` questions count; `avg` of an empty list is 0;
 * each figure is `avg * 100`.
 */
export function scoreGqa(items: readonly GqaItem[]): { accuracy: number; binary: number; open: number } {
  const scores = { accuracy: [] as number[], binary: [] as number[], open: [] as number[] };
  for (const item of items) {
    if (!item.isBalanced) continue;
    const score = cleanGqaPrediction(item.prediction) === item.gold ? 1 : 0;
    scores.accuracy.push(score);
    scores[item.structural === "query" ? "open" : "binary"].push(score);
  }
  return {
    accuracy: avg(scores.accuracy) * 100,
    binary: avg(scores.binary) * 100,
    open: avg(scores.open) * 100,
  };
}

function avg(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
