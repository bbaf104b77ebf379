/**
 * POPE's metrics as the POPE repository's `evaluate.py` computes them (RUCAIBox/POPE): "yes" is the positive
 * class; accuracy, precision, recall, F1 and the share of "yes" answers. In percent.
 */
export interface PopeMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  yes_ratio: number;
}

/**
 * `evaluate.py`'s reading of a free-text answer: only the text before the first ".", commas removed, split on
 * single spaces; "no" when a word is exactly "No", "not" or "no", else "yes".
 */
export function popeTextAnswer(text: string): "yes" | "no" {
  let t = text;
  if (t.indexOf(".") !== -1) t = t.split(".")[0];
  const words = t.replaceAll(",", "").split(" ");
  return words.includes("No") || words.includes("not") || words.includes("no") ? "no" : "yes";
}

/**
 * The metrics over (predicted yes?, label yes?) pairs. Where `evaluate.py` would divide by zero (no "yes"
 * predicted, or no "yes" label) the figure is 0, as scikit-learn's `zero_division` default reports it.
 */
export function popeMetrics(pairs: readonly { predictedYes: boolean; labelYes: boolean }[]): PopeMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (const { predictedYes, labelYes } of pairs) {
    if (predictedYes && labelYes) tp++;
    else if (predictedYes) fp++;
    else if (!labelYes) tn++;
    else fn++;
  }
  const n = tp + tn + fp + fn;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    accuracy: n === 0 ? 0 : (100 * (tp + tn)) / n,
    precision: 100 * precision,
    recall: 100 * recall,
    f1: 100 * f1,
    yes_ratio: n === 0 ? 0 : (100 * (tp + fp)) / n,
  };
}
