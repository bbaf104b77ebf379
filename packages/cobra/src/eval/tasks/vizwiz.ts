import { Fields, locate, ROOT, readJson } from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import { scoreVizwiz } from "../scoring/vizwiz.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { cobraVqaPrompt, VQA_ANSWER } from "./prompts.js";

/**
 * VizWiz val (4,319 questions, one image each, named by `image` in `--images`, VizWiz's `val` folder), read from
 * `val.json` of VizWiz's Annotations.zip. Question ids are the 0-based position in that list, as vlm-evaluation
 * numbers them. Asked with the "Unanswerable" instruction LLaVA-1.5 uses and Cobra's harness copies.
 */

const VAL = ["val.json"];

interface Entry {
  image: string;
  question: string;
  answers: string[];
  answerable: boolean;
}

async function readVal(dataDir: string): Promise<{ file: string; entries: Entry[] }> {
  const file = await locate(dataDir, VAL, "VizWiz annotations");
  const f = new Fields(file);
  const entries = f.array(await readJson(file, "VizWiz annotations"), ROOT).map((value, i) => {
    const at = `[${i}]`;
    const e = f.object(value, at);
    const answers = f.field(e, "answers", "array", at).map((a, j) => {
      const answer = f.object(a, `${at}.answers[${j}]`);
      return f.field(answer, "answer", "string", `${at}.answers[${j}]`);
    });
    if (answers.length === 0) f.fail(`${at}.answers`, "is empty");
    // The harness reads `int(example["answerable"])`.
    const answerable = f.get(e, "answerable", at);
    if (answerable !== 0 && answerable !== 1 && typeof answerable !== "boolean") {
      f.fail(`${at}.answerable`, "is not 0 or 1");
    }
    return {
      image: f.field(e, "image", "string", at),
      question: f.field(e, "question", "string", at),
      answers,
      answerable: Boolean(answerable),
    };
  });
  return { file, entries };
}

export const vizwiz: EvalTask = {
  name: "vizwiz",

  async questions({ dataDir }: LoadOptions): Promise<EvalQuestion[]> {
    const { entries } = await readVal(dataDir);
    return entries.map((e, i) => ({
      questionId: i,
      image: e.image,
      prompt: cobraVqaPrompt(e.question, { uncertaintyAware: true }),
      answer: VQA_ANSWER,
    }));
  },

  async score(predictions: readonly Prediction[], { dataDir }: LoadOptions): Promise<EvalMetrics> {
    const { file, entries } = await readVal(dataDir);
    const matched = matchPredictions(
      "vizwiz",
      predictions,
      new Map(entries.map((e, i) => [String(i), e])),
      file,
    );
    const metrics = scoreVizwiz(
      matched.map(({ answer, truth }) => ({
        answers: truth.answers,
        answerable: truth.answerable,
        prediction: answer,
      })),
    );
    return { task: "vizwiz", split: null, n_examples: matched.length, metrics };
  },
};
