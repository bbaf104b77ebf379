import { InvalidArgumentError, type Tokenizer } from "@cobra-ts/core";
import type { CobraResult } from "../../runtime/cobra.js";
import type { AnswerMode, EvalQuestion, Prediction } from "../task.js";
import type { DecodingVariant } from "./variant.js";

/** What each question is answered with: the token limit and the run's decoding settings. */
export interface AskSettings extends DecodingVariant {
  maxNewTokens: number;
  signal?: AbortSignal;
}

/** What the runner needs of a model: Cobra's `look` (one image pass) and `generate` (a full pass each). */
export interface EvalEngine<I = string> {
  readonly parts: { readonly tokenizer: Tokenizer };
  look(
    image: I,
    options?: { signal?: AbortSignal },
  ): Promise<{
    askEach(questions: readonly string[], options: AskSettings): Promise<CobraResult[]>;
  }>;
  generate(request: AskSettings & { image: I; prompt: string }): Promise<CobraResult>;
}

/** Only the first step counts for a choice: one token is generated, as the official greedy pass begins. */
const CHOICE_TOKENS = 1;

export function tokensFor(mode: AnswerMode): number {
  return mode.kind === "generate" ? mode.maxNewTokens : CHOICE_TOKENS;
}

/** The token id of each choice; vlm-evaluation's `string2idx` insists each is one token. */
export function choiceTokenIds(tokenizer: Tokenizer, choices: readonly string[]): number[] {
  return choices.map((c) => {
    const ids = tokenizer.encode(c);
    if (ids.length !== 1)
      throw new InvalidArgumentError(
        `the tokenizer spells the answer ${JSON.stringify(c)} with ${ids.length} tokens; the probability form ` +
          "needs one token per answer (as vlm-evaluation's string2idx asserts)",
      );
    return ids[0];
  });
}

/**
 * The prediction line for one answered question. A choice is read from the first step's logits as Cobra's
 * `generate_batch` does: the softmax over the vocabulary at each choice's token, renormalized over the choices
 * (computed from the logits directly, which is the same ratio without the vocabulary-wide sum); the answer is
 * the likelier choice, the first on a tie (numpy's argmax).
 */
export function predictionOf(question: EvalQuestion, result: CobraResult, tokenizer: Tokenizer): Prediction {
  const extra = question.extra ?? {};
  if (question.answer.kind === "generate")
    return { ...extra, question_id: question.questionId, answer: result.text };
  const choices = question.answer.choices;
  const logits = choiceTokenIds(tokenizer, choices).map((id) => result.prefillLogits[id]);
  const top = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - top));
  const sum = weights.reduce((a, b) => a + b, 0);
  const probabilities: Record<string, number> = {};
  let best = 0;
  for (const [i, c] of choices.entries()) {
    probabilities[c] = weights[i] / sum;
    if (weights[i] > weights[best]) best = i;
  }
  return { ...extra, question_id: question.questionId, answer: choices[best], probabilities };
}
