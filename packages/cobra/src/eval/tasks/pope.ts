import { join } from "node:path";
import { field, fileExists, readJsonLines } from "../data/annotations.js";
import { AnnotationFormatError } from "../errors.js";
import { popeMetrics, popeTextAnswer } from "../scoring/pope.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { choiceByProbability, chosenSplit, idKey, matchPredictions, partOfPool } from "./common.js";

const SPLITS = ["random", "popular", "adversarial"] as const;
/** The order vlm-evaluation reads the splits in (`split_qid2question`) before shuffling them as one list. */
const POOL_ORDER = ["adversarial", "popular", "random"] as const;
/** vlm-evaluation asks for the probabilities of these two tokens (`return_string_probabilities`). */
const CHOICES = ["Yes", "No"] as const;

interface PopeRecord {
  questionId: number;
  image: string;
  text: string;
  label: "yes" | "no";
}

export const popeFile = (dataDir: string, split: string) => join(dataDir, `coco_pope_${split}.json`);

async function readPope(dataDir: string, split: string): Promise<PopeRecord[]> {
  const file = popeFile(dataDir, split);
  const lines = await readJsonLines(
    file,
    `POPE ${split} file (one {question_id, image, text, label} a line)`,
  );
  const seen = new Set<number>();
  return lines.map((line, i) => {
    const where = `line ${i + 1}`;
    const questionId = field(line, "question_id", "integer", file, where);
    const label = field(line, "label", "string", file, where);
    if (label !== "yes" && label !== "no")
      throw new AnnotationFormatError(
        file,
        `${where}.label`,
        `expected "yes" or "no", got ${JSON.stringify(label)}`,
      );
    if (seen.has(questionId))
      throw new AnnotationFormatError(file, `${where}.question_id`, `${questionId} appears twice`);
    seen.add(questionId);
    return {
      questionId,
      image: field(line, "image", "string", file, where),
      text: field(line, "text", "string", file, where),
      label,
    };
  });
}

/** vlm-evaluation's VQA prompt (`get_vqa_chat_prompt_fn`, which Cobra's fork uses for POPE). */
export function vqaPrompt(question: string): string {
  return `\n${question}\nAnswer the question using a single word or phrase.`;
}

/**
 * POPE on COCO (`coco_pope_{random,popular,adversarial}.json` from RUCAIBox/POPE), asked with the VQA prompt and
 * answered as vlm-evaluation does: the likelier of the tokens "Yes" and "No" at the first step. Scored with the
 * POPE repository's metrics; a prediction without probabilities is read with its text-parsing rule.
 */
export const pope: EvalTask = {
  name: "pope",
  splits: SPLITS,

  async questions(options: LoadOptions): Promise<EvalQuestion[]> {
    const split = chosenSplit(this, options);
    return (await readPope(options.dataDir, split)).map((r) => ({
      questionId: r.questionId,
      image: r.image,
      prompt: vqaPrompt(r.text),
      answer: { kind: "choice", choices: CHOICES },
    }));
  },

  async slimPool(options: LoadOptions, questionCount: number) {
    const split = chosenSplit(this, options) as (typeof POOL_ORDER)[number];
    return partOfPool(
      POOL_ORDER,
      split,
      questionCount,
      async (s) => {
        const file = popeFile(options.dataDir, s);
        return (await fileExists(file)) ? (await readJsonLines(file, `POPE ${s} file`)).length : null;
      },
      {
        pool: "coco_pope_{adversarial,popular,random}.json shuffled as one list (vlm-evaluation)",
        alone: `coco_pope_${split}.json alone (the other splits' files are not in --data)`,
      },
    );
  },

  async score(predictions: readonly Prediction[], options: LoadOptions): Promise<EvalMetrics> {
    const split = chosenSplit(this, options);
    const records = new Map((await readPope(options.dataDir, split)).map((r) => [idKey(r.questionId), r]));
    const pairs = matchPredictions(predictions, records, `coco_pope_${split}.json`).map(
      ({ prediction, record }) => {
        const byProbability = choiceByProbability(prediction, CHOICES);
        const predictedYes =
          byProbability !== null ? byProbability === 0 : popeTextAnswer(String(prediction.answer)) === "yes";
        return { predictedYes, labelYes: record.label === "yes" };
      },
    );
    return {
      task: "pope",
      split,
      n_examples: pairs.length,
      metrics: { ...popeMetrics(pairs) },
    };
  },
};
