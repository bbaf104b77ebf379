import { describe, expect, it } from "vitest";
import { AnnotationFormatError } from "../annotations.js";
import { cleanGqaPrediction } from "../scoring/gqa.js";
import { useDataDir } from "../test-helpers.js";
import { gqa } from "./gqa.js";

const dataDir = useDataDir();

function question(imageId: string, text: string, answer: string, structural: string, isBalanced = true) {
  return {
    semantic: [{ operation: "select", dependencies: [], argument: "thing (1)" }],
    entailed: [],
    equivalent: [],
    question: text,
    imageId,
    isBalanced,
    groups: { global: null, local: "13-thing" },
    answer,
    semanticStr: "select: thing (1)",
    annotations: { answer: {}, question: {}, fullAnswer: {} },
    types: { detailed: "exist", semantic: "obj", structural },
    fullAnswer: `The answer is ${answer}.`,
  };
}

// Written as text in this order on purpose: a JS object (and JSON.parse) lists "300" before the longer
// integer-like ids, Python's json keeps the file's order.
const entries: [string, ReturnType<typeof question>][] = [
  ["20968255", question("n161313", "Is there a cat?", "yes", "verify")],
  ["201307251", question("n161313", "Which side is the cat on?", "left", "query")],
  ["300", question("n99", "What color is the car?", "red", "query", false)],
  ["05", question("n99", 'Is the "man" wearing a {shirt}, [hat] or \\?', "tshirt", "query")],
];
const asText = (list: typeof entries) =>
  `{${list.map(([id, q]) => `${JSON.stringify(id)}: ${JSON.stringify(q, null, 1)}`).join(",\n")}}`;
const files = { "testdev_balanced_questions.json": asText(entries) };

describe("gqa questions", () => {
  it("keeps the file's order and string ids, with Cobra's VQA prompt", async () => {
    const questions = await gqa.questions({ dataDir: await dataDir(files) });
    expect(questions.map((q) => q.questionId)).toEqual(["20968255", "201307251", "300", "05"]);
    expect(questions[0]).toEqual({
      questionId: "20968255",
      image: "n161313.jpg",
      prompt: "\nIs there a cat?\nAnswer the question using a single word or phrase.",
      answer: { kind: "generate", maxNewTokens: 128 },
    });
  });

  it("names the file and the field of a malformed question", async () => {
    const { types: _, ...untyped } = entries[3]![1];
    const broken = asText([...entries.slice(0, 3), ["05", untyped as ReturnType<typeof question>]]);
    const e = await gqa
      .questions({ dataDir: await dataDir({ "testdev_balanced_questions.json": broken }) })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe('"05".types');
  });
});

describe("GQA scoring, worked out from vlm-evaluation's GQAScorer and the GQA eval script", () => {
  it("removes string.punctuation and lowercases, nothing else (no strip)", () => {
    expect(cleanGqaPrediction("Yes.")).toBe("yes");
    expect(cleanGqaPrediction("T-shirt")).toBe("tshirt");
    expect(cleanGqaPrediction("Don't!")).toBe("dont");
    expect(cleanGqaPrediction(" Left")).toBe(" left");
    expect(cleanGqaPrediction("café")).toBe("café");
  });

  it("counts balanced questions only; query questions are open, the rest binary", async () => {
    const metrics = await gqa.score(
      [
        { question_id: "20968255", answer: "Yes." }, // "yes": right, binary
        { question_id: "201307251", answer: " left" }, // " left" != "left": wrong, open
        { question_id: "300", answer: "red" }, // right, but not balanced: not counted
        { question_id: "05", answer: "T-shirt" }, // "tshirt": right, open
      ],
      { dataDir: await dataDir(files) },
    );
    expect(metrics.n_examples).toBe(4);
    expect(metrics.metrics.accuracy).toBeCloseTo((2 / 3) * 100, 12);
    expect(metrics.metrics.binary).toBe(100);
    expect(metrics.metrics.open).toBe(50);
  });

  it("reports 0 for a kind with no questions, as the script's avg() does", async () => {
    const metrics = await gqa.score([{ question_id: "20968255", answer: "no" }], {
      dataDir: await dataDir(files),
    });
    expect(metrics.metrics).toEqual({ accuracy: 0, binary: 0, open: 0 });
  });
});
