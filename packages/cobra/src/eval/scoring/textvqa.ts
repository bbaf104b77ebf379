import { pythonStrip } from "@cobra-ts/mamba-lm";
import { VQA_CONTRACTIONS } from "./contractions.js";
import { leaveOneOutAccuracy } from "./vqa-accuracy.js";
import { flattenAnswer, MMF_COMMA, processDigitArticle, processPunctuation } from "./vqa-normalize.js";

/**
 * mmf's `EvalAIAnswerProcessor` (TextVQA's official answer processing, as vlm-evaluation copies it in
 * `m4c_evaluators.py`): lowercase, drop "," and "?", split "'s" off, then the VQA script's punctuation (with mmf's
 * comma pattern), number words, articles and contractions. Unlike vqaEval.py it always normalizes both sides.
 */
export function evalAIAnswer(answer: string): string {
  const tokenized = pythonStrip(
    answer.toLowerCase().replaceAll(",", "").replaceAll("?", "").replaceAll("'s", " 's"),
  );
  return processDigitArticle(processPunctuation(flattenAnswer(tokenized), MMF_COMMA), VQA_CONTRACTIONS);
}

/**
 * `TextVQAAccuracyEvaluator`: the soft score of each distinct processed human answer (min(1, matches among the
 * other nine / 3), averaged over the ten leave-one-out subsets); a prediction gets its processed form's score, or 0.
 */
export function textVqaAccuracy(humanAnswers: readonly string[], prediction: string): number {
  // The others are left out by position (`item != gt_answer` on (index, answer) pairs).
  const answers = humanAnswers.map((a, i) => ({ answer: evalAIAnswer(a), others: String(i) }));
  return leaveOneOutAccuracy(answers, evalAIAnswer(prediction));
}

/** `eval_pred_list`: the mean score, as a percentage (the evaluator returns a fraction). */
export function scoreTextVqa(items: readonly { answers: readonly string[]; prediction: string }[]): number {
  let sum = 0;
  for (const item of items) sum += textVqaAccuracy(item.answers, item.prediction);
  return 100 * (sum / items.length);
}
