import { Fields, locate, readJsonEntries } from "../annotations.js";
import { scoreGqa } from "../scoring/gqa.js";
import { matchPredictions } from "../scoring/match.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { cobraVqaPrompt, VQA_ANSWER } from "./prompts.js";

/**
 * GQA test-dev balanced (12,578 questions on 398 images, `<imageId>.jpg` in `--images`, GQA's `images` folder),
 * read from `testdev_balanced_questions.json` (an object keyed by question id, which stays a string). Asked with
 * Cobra's VQA prompt and scored with the GQA script's balanced exact match after vlm-evaluation's clean-up.
 */

const QUESTIONS = ["testdev_balanced_questions.json"];

interface Entry {
  questionId: string;
  imageId: string;
  question: string;
  answer: string;
  isBalanced: boolean;
  structural: string;
}

async function readQuestions(dataDir: string): Promise<{ file: string; entries: Entry[] }> {
  const file = await locate(dataDir, QUESTIONS, "GQA questions");
  const f = new Fields(file);
  const entries = (await readJsonEntries(file, "GQA questions")).map(([questionId, value]) => {
    const at = JSON.stringify(questionId);
    const q = f.object(value, at);
    const types = f.field(q, "types", "object", at);
    return {
      questionId,
      imageId: String(f.field(q, "imageId", "id", at)),
      question: f.field(q, "question", "string", at),
      answer: f.field(q, "answer", "string", at),
      isBalanced: f.field(q, "isBalanced", "boolean", at),
      structural: f.field(types, "structural", "string", `${at}.types`),
    };
  });
  return { file, entries };
}

export const gqa: EvalTask = {
  name: "gqa",

  async questions({ dataDir }: LoadOptions): Promise<EvalQuestion[]> {
    const { entries } = await readQuestions(dataDir);
    return entries.map((e) => ({
      questionId: e.questionId,
      image: `${e.imageId}.jpg`,
      prompt: cobraVqaPrompt(e.question),
      answer: VQA_ANSWER,
    }));
  },

  async score(predictions: readonly Prediction[], { dataDir }: LoadOptions): Promise<EvalMetrics> {
    const { file, entries } = await readQuestions(dataDir);
    const matched = matchPredictions(
      "gqa",
      predictions,
      new Map(entries.map((e) => [e.questionId, e])),
      file,
    );
    const metrics = scoreGqa(
      matched.map(({ answer, truth }) => ({
        prediction: answer,
        gold: truth.answer,
        isBalanced: truth.isBalanced,
        structural: truth.structural,
      })),
    );
    return { task: "gqa", split: null, n_examples: matched.length, metrics: { ...metrics } };
  },
};
