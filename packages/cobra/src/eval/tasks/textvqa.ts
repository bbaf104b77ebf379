import { InvalidArgumentError } from "@cobra-ts/core";
import { Fields, locate, locateOptional, ROOT, readJson, readJsonLines } from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import { scoreTextVqa } from "../scoring/textvqa.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction, QuestionId } from "../task.js";
import { cobraVqaPrompt, OCR_MARKER, SHORT_ANSWER, VQA_ANSWER } from "./prompts.js";

/**
 * TextVQA val (5,000 questions on 3,166 images, `<image_id>.jpg` in `--images`, i.e. the `train_images` folder of
 * `train_val_images.zip`). The answers come from `TextVQA_0.5.1_val.json`; the question text with its OCR tokens
 * from LLaVA's `llava_textvqa_val_v051_ocr.jsonl` (vlm-evaluation downloads it as `textvqa_val_v051_ocr.jsonl`),
 * whose `text` is "{question}\nReference OCR token: {a, b, ...}\nAnswer the question using a single word or
 * phrase." (the middle line absent when there are no tokens). Without that file, the same text is rebuilt from
 * TextVQA's Rosetta OCR file (`TextVQA_Rosetta_OCR_v0.2_val.json`), tokens joined by ", ".
 *
 * Forms (`--variant ocr=...`), all through Cobra's prompt function as vlm-evaluation calls it:
 * - `first`: Cobra's order, the OCR line moved before the question (the paper's 58.2);
 * - `last`: prismatic's order, the text as LLaVA wrote it (the paper's 43.0);
 * - `none`: the pure form, the text cut at "\nReference OCR token:";
 * - `both` (default): `first` under the official id and `none` under "<id>:pure", as vlm-evaluation answers
 *   both for every question; scoring then adds `accuracy_ocr` and `accuracy_pure` (`accuracy` is the OCR form's).
 *   `--limit n` takes vlm-evaluation's slim set of n official ids and asks both forms of each (2n lines).
 *
 * vlm-evaluation's quirk is kept: the LLaVA text already ends in the short-answer instruction and the prompt
 * function adds it again, so the OCR-first message reads "Reference OCR token: ...\nAnswer the question using a
 * single word or phrase.\n{question}\nAnswer the question using a single word or phrase.".
 */

const ANSWERS = ["TextVQA_0.5.1_val.json"];
const LLAVA_OCR = ["llava_textvqa_val_v051_ocr.jsonl", "textvqa_val_v051_ocr.jsonl"];
const ROSETTA_OCR = ["TextVQA_Rosetta_OCR_v0.2_val.json"];
const PURE_CUT = "\nReference OCR token:";
export const PURE_SUFFIX = ":pure";

const FORMS = ["both", "first", "last", "none"] as const;
type Form = (typeof FORMS)[number];

interface Entry {
  questionId: number | string;
  imageId: string;
  question: string;
  answers: string[];
}

async function readAnswers(dataDir: string): Promise<{ file: string; entries: Entry[] }> {
  const file = await locate(dataDir, ANSWERS, "TextVQA annotations");
  const f = new Fields(file);
  const root = f.object(await readJson(file, "TextVQA annotations"), ROOT);
  const entries = f.field(root, "data", "array", ROOT).map((value, i) => {
    const at = `data[${i}]`;
    const e = f.object(value, at);
    const answers = f.strings(e, "answers", at);
    // m4c_evaluators.py asserts ten answers per question.
    if (answers.length !== 10)
      f.fail(`${at}.answers`, `has ${answers.length} answers; TextVQA's scorer expects 10`);
    return {
      questionId: f.field(e, "question_id", "id", at),
      imageId: String(f.field(e, "image_id", "id", at)),
      question: f.field(e, "question", "string", at),
      answers,
    };
  });
  return { file, entries };
}

/** The LLaVA-style text of every entry, in the answers file's order. */
async function readTexts(dataDir: string, entries: readonly Entry[]): Promise<string[]> {
  const llava = await locateOptional(dataDir, LLAVA_OCR);
  if (llava !== undefined) {
    const f = new Fields(llava);
    const lines = await readJsonLines(llava, "TextVQA OCR questions");
    // vlm-evaluation pairs the two files by position; the ids are checked so that a mismatch cannot pass silently.
    if (lines.length !== entries.length) {
      f.fail("(file)", `has ${lines.length} lines but ${ANSWERS[0]} has ${entries.length} questions`);
    }
    return lines.map((value, i) => {
      const at = `line ${i + 1}`;
      const line = f.object(value, at);
      const id = f.field(line, "question_id", "id", at);
      if (String(id) !== String(entries[i]!.questionId)) {
        f.fail(
          `${at}.question_id`,
          `is ${id} but question ${i + 1} of ${ANSWERS[0]} is ${entries[i]!.questionId}`,
        );
      }
      return f.field(line, "text", "string", at);
    });
  }
  const rosetta = await locateOptional(dataDir, ROSETTA_OCR);
  if (rosetta === undefined) {
    throw new InvalidArgumentError(
      `textvqa needs OCR tokens in ${dataDir}: put LLaVA's ${LLAVA_OCR[0]} or TextVQA's ${ROSETTA_OCR[0]} there (the pure form is cut from the same text)`,
    );
  }
  const f = new Fields(rosetta);
  const root = f.object(await readJson(rosetta, "TextVQA Rosetta OCR"), ROOT);
  const tokens = new Map<string, string[]>();
  f.field(root, "data", "array", ROOT).forEach((value, i) => {
    const e = f.object(value, `data[${i}]`);
    const imageId = String(f.field(e, "image_id", "id", `data[${i}]`));
    if (!tokens.has(imageId)) tokens.set(imageId, f.strings(e, "ocr_tokens", `data[${i}]`));
  });
  return entries.map((e) => {
    const t = tokens.get(e.imageId);
    if (t === undefined)
      return f.fail("data", `has no entry for image ${e.imageId} (question ${e.questionId})`);
    return t.length > 0
      ? `${e.question}${OCR_MARKER}${t.join(", ")}${SHORT_ANSWER}`
      : `${e.question}${SHORT_ANSWER}`;
  });
}

function formOf(variant: LoadOptions["variant"]): Form {
  const form = variant?.ocr ?? "both";
  if (!(FORMS as readonly string[]).includes(form)) {
    throw new InvalidArgumentError(`textvqa: --variant ocr=${form} is not one of ${FORMS.join(", ")}`);
  }
  return form as Form;
}

function prompt(text: string, form: Exclude<Form, "both">): string {
  if (form === "none") return cobraVqaPrompt(text.split(PURE_CUT)[0]!);
  return cobraVqaPrompt(text, { ocrFirst: form === "first" });
}

export const textvqa: EvalTask = {
  name: "textvqa",
  variantKeys: ["ocr"],

  async questions({ dataDir, variant }: LoadOptions): Promise<EvalQuestion[]> {
    const form = formOf(variant);
    const { entries } = await readAnswers(dataDir);
    const texts = await readTexts(dataDir, entries);
    return entries.flatMap((e, i): EvalQuestion[] => {
      const ask = (questionId: QuestionId, f: Exclude<Form, "both">): EvalQuestion => ({
        questionId,
        image: `${e.imageId}.jpg`,
        prompt: prompt(texts[i]!, f),
        answer: VQA_ANSWER,
      });
      if (form !== "both") return [ask(e.questionId, form)];
      const pure = { ...ask(`${e.questionId}${PURE_SUFFIX}`, "none"), officialId: e.questionId };
      return [ask(e.questionId, "first"), pure];
    });
  },

  async score(predictions: readonly Prediction[], { dataDir, variant }: LoadOptions): Promise<EvalMetrics> {
    formOf(variant);
    const { file, entries } = await readAnswers(dataDir);
    const byId = new Map<string, Entry>();
    for (const e of entries) {
      byId.set(String(e.questionId), e);
      byId.set(`${e.questionId}${PURE_SUFFIX}`, e);
    }
    const matched = matchPredictions("textvqa", predictions, byId, file);
    const pure = matched.filter((m) => String(m.prediction.question_id).endsWith(PURE_SUFFIX));
    const main = matched.filter((m) => !String(m.prediction.question_id).endsWith(PURE_SUFFIX));
    const accuracy = (ms: typeof matched) =>
      scoreTextVqa(ms.map((m) => ({ answers: m.truth.answers, prediction: m.answer })));
    const metrics: Record<string, number> = {};
    if (main.length > 0 && pure.length > 0) {
      metrics.accuracy = metrics.accuracy_ocr = accuracy(main);
      metrics.accuracy_pure = accuracy(pure);
    } else {
      metrics.accuracy = accuracy(main.length > 0 ? main : pure);
    }
    const questions = new Set(matched.map((m) => String(m.truth.questionId)));
    return { task: "textvqa", split: null, n_examples: questions.size, metrics };
  },
};
