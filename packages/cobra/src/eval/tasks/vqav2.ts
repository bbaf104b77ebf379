import { Fields, locate, ROOT, readJson } from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import { type HumanAnswer, scoreVqa } from "../scoring/vqa-accuracy.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { cobraVqaPrompt, VQA_ANSWER } from "./prompts.js";

/**
 * VQAv2 val (214,354 questions on 40,504 COCO val2014 images), read from the files the VQA site publishes
 * (vlm-evaluation renames them to `v2_val2014_*.json`; both names are accepted). Images are looked up as
 * `COCO_val2014_<12-digit image id>.jpg` directly in `--images`: vlm-evaluation extracts `val2014.zip` and uses
 * the `val2014` folder itself as its images folder, and POPE's files name the same images the same way.
 */

const QUESTIONS = ["v2_OpenEnded_mscoco_val2014_questions.json", "v2_val2014_questions.json"];
const ANNOTATIONS = ["v2_mscoco_val2014_annotations.json", "v2_val2014_annotations.json"];

interface Annotation {
  questionId: number | string;
  imageId: number;
  answerType: string;
  answers: HumanAnswer[];
}

async function readAnnotations(dataDir: string): Promise<{ file: string; annotations: Annotation[] }> {
  const file = await locate(dataDir, ANNOTATIONS, "VQAv2 annotations");
  const f = new Fields(file);
  const root = f.object(await readJson(file, "VQAv2 annotations"), ROOT);
  const list = f.field(root, "annotations", "array", ROOT);
  const annotations = list.map((value, i) => {
    const at = `annotations[${i}]`;
    const a = f.object(value, at);
    const answers = f.field(a, "answers", "array", at).map((v, j) => {
      const answer = f.object(v, `${at}.answers[${j}]`);
      f.field(answer, "answer", "string", `${at}.answers[${j}]`);
      return answer as HumanAnswer;
    });
    if (answers.length === 0) f.fail(`${at}.answers`, "is empty");
    return {
      questionId: f.field(a, "question_id", "id", at),
      imageId: f.field(a, "image_id", "number", at),
      answerType: f.field(a, "answer_type", "string", at),
      answers,
    };
  });
  return { file, annotations };
}

export function cocoVal2014Image(imageId: number): string {
  return `COCO_val2014_${String(imageId).padStart(12, "0")}.jpg`;
}

export const vqav2: EvalTask = {
  name: "vqav2",

  async questions({ dataDir }: LoadOptions): Promise<EvalQuestion[]> {
    const qFile = await locate(dataDir, QUESTIONS, "VQAv2 questions");
    const f = new Fields(qFile);
    const root = f.object(await readJson(qFile, "VQAv2 questions"), ROOT);
    const text = new Map<string, string>();
    f.field(root, "questions", "array", ROOT).forEach((value, i) => {
      const q = f.object(value, `questions[${i}]`);
      const id = f.field(q, "question_id", "id", `questions[${i}]`);
      text.set(String(id), f.field(q, "question", "string", `questions[${i}]`));
    });
    // vlm-evaluation walks the annotations (their order is the one its seeded shuffle permutes) and looks up
    // each question's text.
    const { file, annotations } = await readAnnotations(dataDir);
    const af: Fields = new Fields(file);
    return annotations.map((a, i) => {
      const question = text.get(String(a.questionId));
      if (question === undefined) {
        af.fail(`annotations[${i}].question_id`, `(${a.questionId}) has no question in ${qFile}`);
      }
      return {
        questionId: a.questionId,
        image: cocoVal2014Image(a.imageId),
        prompt: cobraVqaPrompt(question),
        answer: VQA_ANSWER,
      };
    });
  },

  async score(predictions: readonly Prediction[], { dataDir }: LoadOptions): Promise<EvalMetrics> {
    const { file, annotations } = await readAnnotations(dataDir);
    const byId = new Map(annotations.map((a) => [String(a.questionId), a]));
    const matched = matchPredictions("vqav2", predictions, byId, file);
    const metrics = scoreVqa(
      matched.map(({ answer, truth }) => ({
        answers: truth.answers,
        answerType: truth.answerType,
        prediction: answer,
      })),
    );
    return { task: "vqav2", split: null, n_examples: matched.length, metrics: { ...metrics } };
  },
};
