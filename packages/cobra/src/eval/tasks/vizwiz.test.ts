import { describe, expect, it } from "vitest";
import { AnnotationFormatError } from "../annotations.js";
import { binaryAveragePrecision, binaryF1, normalizeVizwizAnswer } from "../scoring/vizwiz.js";
import { times, useDataDir } from "../test-helpers.js";
import { vizwiz } from "./vizwiz.js";

const dataDir = useDataDir();

function entry(index: number, question: string, answers: string[], answerable: number) {
  return {
    image: `VizWiz_val_${String(index).padStart(8, "0")}.jpg`,
    question,
    answers: answers.map((answer) => ({ answer, answer_confidence: "yes" })),
    answer_type: answerable ? "other" : "unanswerable",
    answerable,
  };
}

const val = [
  entry(0, "What drink is this?", [...times(4, "coffee"), ...times(6, "tea")], 1),
  entry(1, "Do you know?", times(10, "don't"), 1),
  entry(2, "What is this?", times(10, "unanswerable"), 0),
  entry(3, "What color?", [...times(7, "unanswerable"), ...times(3, "blue")], 0),
  entry(4, "How many?", times(10, "two"), 1),
  entry(5, "How many cans?", times(10, "two"), 1),
];

describe("vizwiz questions", () => {
  it("numbers questions by position and asks with the Unanswerable instruction", async () => {
    const questions = await vizwiz.questions({ dataDir: await dataDir({ "val.json": val }) });
    expect(questions.map((q) => q.questionId)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(questions[2]).toEqual({
      questionId: 2,
      image: "VizWiz_val_00000002.jpg",
      prompt:
        "\nWhat is this?\nWhen the provided information is insufficient, respond with 'Unanswerable'." +
        "\nAnswer the question using a single word or phrase.",
      answer: { kind: "generate", maxNewTokens: 128 },
    });
  });

  it("names the file and the field of a malformed entry", async () => {
    const broken = structuredClone(val) as Record<string, unknown>[];
    broken[3]!.answerable = "no";
    const e = await vizwiz.questions({ dataDir: await dataDir({ "val.json": broken }) }).catch((err) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe("[3].answerable");
  });
});

describe("VizWiz scoring, worked out from vlm-evaluation's vizwiz/eval.py and sklearn", () => {
  it("normalizes the prediction with the backtick contractions", () => {
    expect(normalizeVizwizAnswer("Coffee.")).toBe("coffee");
    expect(normalizeVizwizAnswer("dont")).toBe("don`t");
    expect(normalizeVizwizAnswer(" Two\n")).toBe("2");
  });

  it("computes sklearn's average precision and F1 for 0/1 predictions", () => {
    const t = true;
    const f = false;
    // Threshold 1: 2 predicted, 1 right -> precision 1/2, recall 1/2; threshold 0: precision 2/6, recall 1.
    // AP = (1/2 - 0) * 1/2 + (1 - 1/2) * 2/6 = 5/12.
    expect(binaryAveragePrecision([f, f, t, t, f, f], [f, f, t, f, t, f])).toBeCloseTo(5 / 12, 15);
    // One distinct score: the single point (recall 1, precision P/N) -> AP = P/N.
    expect(binaryAveragePrecision([t, f, f, f], [t, t, t, t])).toBe(1 / 4);
    expect(binaryAveragePrecision([t, f, f, f], [f, f, f, f])).toBe(1 / 4);
    // No positive label: every precision is 0.
    expect(binaryAveragePrecision([f, f], [t, f])).toBe(0);
    // F1 = 2TP / (2TP + FP + FN) = 2 / (2 + 1 + 1).
    expect(binaryF1([f, f, t, t, f, f], [f, f, t, f, t, f])).toBe(0.5);
    expect(binaryF1([f, f], [f, f])).toBe(0);
  });

  it("scores accuracy, the answerable / unanswerable accuracies and the unanswerability AP and F1", async () => {
    const metrics = await vizwiz.score(
      [
        { question_id: 0, answer: "Coffee." }, // "coffee": leaving out a coffee 3 match, a tea 4 -> 1
        { question_id: 1, answer: "dont" }, // "don`t" never matches "don't" -> 0
        { question_id: 2, answer: "Unanswerable" }, // 9 matches -> 1; says unanswerable (right)
        { question_id: 3, answer: "blue " }, // "blue": leaving out a blue 2 -> 2/3 (3x), an unanswerable 3 -> 1 (7x)
        { question_id: 4, answer: "unanswerable" }, // 0; says unanswerable (wrong)
        { question_id: 5, answer: "two" }, // "2" against raw "two" -> 0
      ],
      { dataDir: await dataDir({ "val.json": val }) },
    );
    // Question 3: (3 * 2/3 + 7 * 1) / 10 = 0.9.
    expect(metrics.n_examples).toBe(6);
    expect(metrics.metrics.accuracy).toBeCloseTo((100 * (1 + 0 + 1 + 0.9 + 0 + 0)) / 6, 12);
    expect(metrics.metrics.answerable_accuracy).toBeCloseTo((100 * 1) / 4, 12);
    expect(metrics.metrics.unanswerable_accuracy).toBeCloseTo((100 * 1.9) / 2, 12);
    // Unanswerable truth [F,F,T,T,F,F], predicted [F,F,T,F,T,F]: AP 5/12 and F1 1/2 as above.
    expect(metrics.metrics.unanswerable_ap).toBeCloseTo((100 * 5) / 12, 12);
    expect(metrics.metrics.unanswerable_f1).toBeCloseTo(50, 12);
  });

  it("leaves out a group's accuracy when the predictions have none of it (the original divides by zero)", async () => {
    const metrics = await vizwiz.score([{ question_id: 0, answer: "tea" }], {
      dataDir: await dataDir({ "val.json": val }),
    });
    expect(Object.keys(metrics.metrics).sort()).toEqual([
      "accuracy",
      "answerable_accuracy",
      "unanswerable_ap",
      "unanswerable_f1",
    ]);
  });
});
