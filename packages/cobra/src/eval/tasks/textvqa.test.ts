import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { AnnotationFormatError } from "../annotations.js";
import { evalAIAnswer, textVqaAccuracy } from "../scoring/textvqa.js";
import { times, useDataDir } from "../test-helpers.js";
import { textvqa } from "./textvqa.js";

const dataDir = useDataDir();

const SUFFIX = "\nAnswer the question using a single word or phrase.";
const brand = {
  id: 100,
  image: "abc",
  question: "what brand is this?",
  answers: [...times(3, "nike"), ...times(7, "adidas")],
};
const count = {
  id: 101,
  image: "def",
  question: "what number?",
  answers: [...times(2, "two"), "2", ...times(7, "x")],
};

const answersFile = {
  "TextVQA_0.5.1_val.json": {
    dataset_type: "val",
    dataset_name: "textvqa",
    dataset_version: "0.5.1",
    data: [brand, count].map((e) => ({
      question: e.question,
      image_id: e.image,
      image_classes: ["Poster"],
      flickr_original_url: "",
      flickr_300k_url: "",
      image_width: 1024,
      image_height: 768,
      answers: e.answers,
      question_tokens: e.question.split(" "),
      question_id: e.id,
      set_name: "val",
    })),
  },
};

// LLaVA's file: the OCR line between the question and the short-answer line; none when there are no tokens.
const llavaLines = [
  {
    question_id: 100,
    image: "abc.jpg",
    text: `what brand is this?\nReference OCR token: NIKE, just, do, it${SUFFIX}`,
  },
  { question_id: 101, image: "def.jpg", text: `what number?${SUFFIX}` },
];
const llava = {
  "llava_textvqa_val_v051_ocr.jsonl": `${llavaLines.map((l) => JSON.stringify(l)).join("\n")}\n`,
};
const rosetta = {
  "TextVQA_Rosetta_OCR_v0.2_val.json": {
    dataset_type: "val",
    data: [
      { image_id: "def", ocr_tokens: [], ocr_info: [] },
      { image_id: "abc", ocr_tokens: ["NIKE", "just", "do", "it"], ocr_info: [] },
    ],
  },
};

// cobra.py's vqa_prompt_fn: "\n" + question (OCR part moved first when present) + the short-answer line.
const BRAND_FIRST = `\nReference OCR token: NIKE, just, do, it${SUFFIX}\nwhat brand is this?${SUFFIX}`;
const BRAND_LAST = `\nwhat brand is this?\nReference OCR token: NIKE, just, do, it${SUFFIX}${SUFFIX}`;
const BRAND_PURE = `\nwhat brand is this?${SUFFIX}`;
// No OCR line: nothing to move or cut, and the text's own short-answer line stays before the added one.
const COUNT_ANY = `\nwhat number?${SUFFIX}${SUFFIX}`;

describe("textvqa questions", () => {
  it("asks both forms by default: OCR tokens first under the official id, the pure form under <id>:pure (tied to the official id for --limit)", async () => {
    const questions = await textvqa.questions({ dataDir: await dataDir({ ...answersFile, ...llava }) });
    const ask = (questionId: number | string, image: string, prompt: string) => ({
      questionId,
      image,
      prompt,
      answer: { kind: "generate", maxNewTokens: 128 },
    });
    expect(questions).toEqual([
      ask(100, "abc.jpg", BRAND_FIRST),
      { ...ask("100:pure", "abc.jpg", BRAND_PURE), officialId: 100 },
      ask(101, "def.jpg", COUNT_ANY),
      { ...ask("101:pure", "def.jpg", COUNT_ANY), officialId: 101 },
    ]);
  });

  it("asks one form with --variant ocr=first|last|none", async () => {
    const dir = await dataDir({ ...answersFile, ...llava });
    const prompts = async (ocr: string) =>
      (await textvqa.questions({ dataDir: dir, variant: { ocr } })).map((q) => [q.questionId, q.prompt]);
    expect(await prompts("first")).toEqual([
      [100, BRAND_FIRST],
      [101, COUNT_ANY],
    ]);
    expect(await prompts("last")).toEqual([
      [100, BRAND_LAST],
      [101, COUNT_ANY],
    ]);
    expect(await prompts("none")).toEqual([
      [100, BRAND_PURE],
      [101, COUNT_ANY],
    ]);
    await expect(prompts("middle")).rejects.toThrow(/ocr=middle is not one of both, first, last, none/);
  });

  it("rebuilds the same texts from the Rosetta OCR file", async () => {
    const fromLlava = await textvqa.questions({ dataDir: await dataDir({ ...answersFile, ...llava }) });
    const fromRosetta = await textvqa.questions({ dataDir: await dataDir({ ...answersFile, ...rosetta }) });
    expect(fromRosetta).toEqual(fromLlava);
  });

  it("says which OCR files it needs, and catches an OCR file of other questions", async () => {
    await expect(textvqa.questions({ dataDir: await dataDir(answersFile) })).rejects.toThrow(
      /llava_textvqa_val_v051_ocr\.jsonl or TextVQA's TextVQA_Rosetta_OCR_v0\.2_val\.json/,
    );
    const swapped = [llavaLines[1], llavaLines[0]].map((l) => JSON.stringify(l)).join("\n");
    const e = await textvqa
      .questions({ dataDir: await dataDir({ ...answersFile, "textvqa_val_v051_ocr.jsonl": swapped }) })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe("line 1.question_id");
  });

  it("refuses a question without ten answers, naming the field", async () => {
    const broken = structuredClone(answersFile);
    broken["TextVQA_0.5.1_val.json"].data[1]!.answers.pop();
    const e = await textvqa
      .questions({ dataDir: await dataDir({ ...broken, ...llava }) })
      .catch((err) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe("data[1].answers");
  });
});

describe("TextVQA accuracy, worked out from mmf's EvalAIAnswerProcessor and m4c_evaluators.py", () => {
  it("processes answers like EvalAI", () => {
    // lower -> drop "," and "?" -> "'s" to " 's" -> "-" touches no space, becomes a space.
    expect(evalAIAnswer("Coca-Cola's, sign?")).toBe("coca cola 's sign");
    // the final "." goes (no digit after it), "the" is an article, "two" -> "2".
    expect(evalAIAnswer("The Two.")).toBe("2");
  });

  it("scores a prediction by its processed form's leave-one-out soft score", () => {
    // "NIKE." -> "nike". Leaving out one of the 3 "nike": 2 matches -> 2/3; leaving out an "adidas": 3 -> 1.
    // (3 * 2/3 + 7 * 1) / 10 = 0.9.
    expect(textVqaAccuracy(brand.answers, "NIKE.")).toBeCloseTo(0.9, 15);
    expect(textVqaAccuracy(brand.answers, "puma")).toBe(0);
    // Human answers are processed too: "two", "two", "2" are three "2": (3 * 2/3 + 7 * 1) / 10 = 0.9.
    expect(textVqaAccuracy(count.answers, "2")).toBeCloseTo(0.9, 15);
  });
});

describe("textvqa score", () => {
  it("adds accuracy_ocr and accuracy_pure when both forms were answered", async () => {
    const dir = await dataDir(answersFile);
    const metrics = await textvqa.score(
      [
        { question_id: 100, answer: "Nike." }, // 0.9
        { question_id: "100:pure", answer: "puma" }, // 0
        { question_id: 101, answer: "2" }, // 0.9
        { question_id: "101:pure", answer: "two" }, // "2": 0.9
      ],
      { dataDir: dir },
    );
    expect(metrics.n_examples).toBe(2);
    expect(metrics.metrics.accuracy).toBeCloseTo(90, 12);
    expect(metrics.metrics.accuracy_ocr).toBeCloseTo(90, 12);
    expect(metrics.metrics.accuracy_pure).toBeCloseTo(45, 12);
  });

  it("gives one accuracy for predictions of one form (any model's file)", async () => {
    const dir = await dataDir(answersFile);
    const metrics = await textvqa.score([{ question_id: "101", answer: "x" }], { dataDir: dir });
    // Leaving out one of the 7 "x": 6 matches -> 1; leaving out a "2": 7 -> 1. Mean 1.
    expect(metrics.metrics).toEqual({ accuracy: 100 });
    await expect(textvqa.score([{ question_id: 5, answer: "x" }], { dataDir: dir })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
