import { VIZWIZ_CONTRACTIONS } from "./contractions.js";
import { leaveOneOutAccuracy } from "./vqa-accuracy.js";
import { flattenAnswer, processDigitArticle, processPunctuation } from "./vqa-normalize.js";

/**
 * vlm-evaluation's VizWiz scorer (`vlm_eval/util/evaluation/vizwiz/eval.py`, Qing Li's VizWiz VQAEval plus
 * sklearn's unanswerability figures). Quirks kept: the prediction is always normalized (with the table whose
 * contractions use backticks), the human answers never are (not even stripped).
 */
export function normalizeVizwizAnswer(answer: string): string {
  return processDigitArticle(processPunctuation(flattenAnswer(answer)), VIZWIZ_CONTRACTIONS);
}

export interface VizwizItem {
  answers: readonly string[];
  answerable: boolean;
  prediction: string;
}

export function vizwizAccuracy(answers: readonly string[], prediction: string): number {
  return leaveOneOutAccuracy(
    answers.map((answer, i) => ({ answer, others: String(i) })),
    normalizeVizwizAnswer(prediction),
  );
}

/**
 * sklearn's `average_precision_score` for 0/1 scores: thresholds 1 and 0 give (recall, precision) points
 * (R1 = TP/P, TP/(TP+FP)) and (1, P/N), so AP = R1 * TP/(TP+FP) + (1 - R1) * P/N; one distinct score gives P/N.
 * With no positive label, precision is 0 throughout and so is AP.
 */
export function binaryAveragePrecision(truth: readonly boolean[], predicted: readonly boolean[]): number {
  const n = truth.length;
  let positives = 0;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    if (truth[i]) positives++;
    if (predicted[i] && truth[i]) tp++;
    if (predicted[i] && !truth[i]) fp++;
  }
  if (positives === 0) return 0;
  const base = positives / n;
  if (tp + fp === 0 || tp + fp === n) return base;
  const r1 = tp / positives;
  return r1 * (tp / (tp + fp)) + (1 - r1) * base;
}

/** sklearn's `f1_score` of the positive class; 0 when it is undefined (zero_division "warn" acts as 0). */
export function binaryF1(truth: readonly boolean[], predicted: readonly boolean[]): number {
  let tp = 0;
  let wrong = 0;
  for (let i = 0; i < truth.length; i++) {
    if (predicted[i] && truth[i]) tp++;
    else if (predicted[i] !== truth[i]) wrong++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + wrong);
}

/**
 * `VizWizScorer.score`: overall accuracy, the accuracy over the answerable and over the unanswerable questions
 * (absent when there are none: the original divides by zero), and the AP and F1 of predicting "unanswerable".
 */
export function scoreVizwiz(items: readonly VizwizItem[]): Record<string, number> {
  const accs = items.map((it) => vizwizAccuracy(it.answers, it.prediction));
  const mean = (picked: number[]) => (100 * picked.reduce((s, a) => s + a, 0)) / picked.length;
  const unanswerable = items.map((it) => !it.answerable);
  const saysUnanswerable = items.map((it) => normalizeVizwizAnswer(it.prediction) === "unanswerable");
  const metrics: Record<string, number> = { accuracy: mean(accs) };
  const answerableAccs = accs.filter((_, i) => items[i]!.answerable);
  const unanswerableAccs = accs.filter((_, i) => !items[i]!.answerable);
  if (answerableAccs.length > 0) metrics.answerable_accuracy = mean(answerableAccs);
  if (unanswerableAccs.length > 0) metrics.unanswerable_accuracy = mean(unanswerableAccs);
  metrics.unanswerable_ap = 100 * binaryAveragePrecision(unanswerable, saysUnanswerable);
  metrics.unanswerable_f1 = 100 * binaryF1(unanswerable, saysUnanswerable);
  return metrics;
}
