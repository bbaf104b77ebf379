import { canonicalJson } from "../../jsonl/canonical-json.js";
import { VQA_CONTRACTIONS } from "./contractions.js";
import { flattenAnswer, processDigitArticle, processPunctuation } from "./vqa-normalize.js";

/** One human answer as the annotation file gives it (`{answer, answer_confidence, answer_id}`). */
export type HumanAnswer = Readonly<Record<string, unknown>> & { readonly answer: string };

/** One scored VQAv2 question. */
export interface VqaItem {
  answers: readonly HumanAnswer[];
  answerType: string;
  prediction: string;
}

/**
 * An answer dict after normalizing its `answer`, kept whole because both scorers exclude "the others" with
 * Python's dict `!=`: two identical dicts (same answer_id too) would exclude each other.
 */
export interface Normalized {
  answer: string;
  /** What else tells this answer from an equal one: the dict's other fields, or its position. */
  others: string;
}

function normalizedAnswers(answers: readonly HumanAnswer[], norm: (a: string) => string): Normalized[] {
  return answers.map(({ answer, ...rest }) => ({ answer: norm(answer), others: canonicalJson(rest) }));
}

/** min(1, matches among the other nine / 3), averaged over the ten leave-one-out subsets. */
export function leaveOneOutAccuracy(answers: readonly Normalized[], prediction: string): number {
  let sum = 0;
  for (const held of answers) {
    let matches = 0;
    for (const other of answers) {
      const same = other.answer === held.answer && other.others === held.others;
      if (!same && other.answer === prediction) matches++;
    }
    sum += Math.min(1, matches / 3);
  }
  return sum / answers.length;
}

const normalize = (text: string): string => processDigitArticle(processPunctuation(text), VQA_CONTRACTIONS);

/**
 * The VQA evaluation script (`vqaEval.py`): answers are flattened and stripped; only when the ten human answers
 * disagree are they and the prediction normalized (so "Yes" against ten "yes" scores 0).
 */
export function officialVqaAccuracy(answers: readonly HumanAnswer[], prediction: string): number {
  let human = normalizedAnswers(answers, flattenAnswer);
  let predicted = flattenAnswer(prediction);
  if (new Set(human.map((a) => a.answer)).size > 1) {
    human = human.map((a) => ({ ...a, answer: normalize(a.answer) }));
    predicted = normalize(predicted);
  }
  return leaveOneOutAccuracy(human, predicted);
}

/**
 * vlm-evaluation's own VQAv2 scorer (`vlm_eval/util/evaluation/vqav2/eval.py`, the paper's numbers): the
 * prediction is always fully normalized, the human answers only lose punctuation (no flattening, no number
 * words, no articles), whether they agree or not.
 */
export function vlmEvalVqaAccuracy(answers: readonly HumanAnswer[], prediction: string): number {
  const human = normalizedAnswers(answers, (a) => processPunctuation(a));
  return leaveOneOutAccuracy(human, normalize(flattenAnswer(prediction)));
}

export interface VqaMetrics {
  accuracy: number;
  per_answer_type: Record<string, number>;
  accuracy_vlm_eval: number;
}

/** Percentages as the two scripts compute them, unrounded (they round to 2 places only for display). */
export function scoreVqa(items: readonly VqaItem[]): VqaMetrics {
  let official = 0;
  let vlmEval = 0;
  const byType = new Map<string, number[]>();
  for (const item of items) {
    const acc = officialVqaAccuracy(item.answers, item.prediction);
    official += acc;
    vlmEval += vlmEvalVqaAccuracy(item.answers, item.prediction);
    const list = byType.get(item.answerType) ?? [];
    list.push(acc);
    byType.set(item.answerType, list);
  }
  const perType: Record<string, number> = {};
  for (const [type, accs] of byType) perType[type] = (100 * sum(accs)) / accs.length;
  return {
    // vqaEval.py: 100*float(sum(accQA))/len(accQA); vlm-evaluation: 100 * (sum / len).
    accuracy: (100 * official) / items.length,
    per_answer_type: perType,
    accuracy_vlm_eval: 100 * (vlmEval / items.length),
  };
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
