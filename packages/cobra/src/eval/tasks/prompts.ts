import { InvalidArgumentError } from "@cobra-ts/core";
import type { AnswerMode } from "../task.js";

/**
 * The user messages of Cobra's fork of vlm-evaluation (`vlm_eval/models/cobra.py`, `get_vqa_chat_prompt_fn`), word
 * for word. Each starts with "\n" as there; Cobra's prompt builder strips the message.
 */

export const SHORT_ANSWER = "\nAnswer the question using a single word or phrase.";
export const UNANSWERABLE = "\nWhen the provided information is insufficient, respond with 'Unanswerable'.";
export const OCR_MARKER = "\nReference OCR token: ";

/** vlm-evaluation's generate kwargs: greedy, `max_new_tokens = max_length = 128` for every VQA-style task. */
export const VQA_ANSWER: AnswerMode = { kind: "generate", maxNewTokens: 128 };

export interface VqaPromptOptions {
  /** VizWiz: LLaVA-1.5's "Unanswerable" trigger before the short-answer suffix. */
  uncertaintyAware?: boolean;
  /**
   * Cobra's change to the prismatic prompt: a question carrying "\nReference OCR token: ..." has that part moved
   * in front ("Reference OCR token: ...\n{question}"). False gives the prismatic/LLaVA order (TextVQA `ocr=last`).
   */
  ocrFirst?: boolean;
}

export function cobraVqaPrompt(question: string, options: VqaPromptOptions = {}): string {
  let text = question;
  const parts = question.split(OCR_MARKER);
  if ((options.ocrFirst ?? true) && parts.length !== 1) {
    // Python's `q, ocr_tokens = ...` unpacking: a second marker is an error there too.
    if (parts.length !== 2) {
      throw new InvalidArgumentError(
        `the question has ${parts.length - 1} OCR token lines, expected one: ${question}`,
      );
    }
    text = `Reference OCR token: ${parts[1]}\n${parts[0]}`;
  }
  let prompt = `\n${text}`;
  if (options.uncertaintyAware) prompt += UNANSWERABLE;
  return prompt + SHORT_ANSWER;
}
