import { join } from "node:path";
import { Fields, fileExists, readJsonLines } from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import { popeMetrics, popeTextAnswer } from "../scoring/pope.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { choiceByProbability, chosenSplit, partOfPool } from "./common.js";

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
  const f: Fields = new Fields(file);
  const seen = new Set<number>();
  return lines.map((line, i) => {
    const where = `line ${i + 1}`;
    const questionId = f.field(line, "question_id", "integer", where);
    const label = f.field(line, "label", "string", where);
    if (label !== "yes" && label !== "no")
      f.fail(`${where}.label`, `expected "yes" or "no", got ${JSON.stringify(label)}`);
    if (seen.has(questionId)) f.fail(`${where}.question_id`, `${questionId} appears twice`);
    seen.add(questionId);
    return {
      questionId,
      image: f.field(line, "image", "string", where),
      text: f.field(line, "text", "string", where),
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
    const records = new Map((await readPope(options.dataDir, split)).map((r) => [String(r.questionId), r]));
    const pairs = matchPredictions("pope", predictions, records, popeFile(options.dataDir, split)).map(
      ({ prediction, answer, truth }) => {
        const byProbability = choiceByProbability(prediction, CHOICES);
        const predictedYes = byProbability !== null ? byProbability === 0 : popeTextAnswer(answer) === "yes";
        return { predictedYes, labelYes: truth.label === "yes" };
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
