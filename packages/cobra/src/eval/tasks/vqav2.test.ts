import { FileNotFoundError, InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { AnnotationFormatError } from "../annotations.js";
import { officialVqaAccuracy, vlmEvalVqaAccuracy } from "../scoring/vqa-accuracy.js";
import { tenAnswers, times, useDataDir } from "../test-helpers.js";
import { vqav2 } from "./vqav2.js";

const dataDir = useDataDir();

const QUESTIONS = "v2_OpenEnded_mscoco_val2014_questions.json";
const ANNOTATIONS = "v2_mscoco_val2014_annotations.json";

function annotation(id: number, imageId: number, answerType: string, answers: string[]) {
  return {
    question_id: id,
    image_id: imageId,
    question_type: "what",
    answer_type: answerType,
    multiple_choice_answer: answers[0],
    answers: tenAnswers(answers),
  };
}

/** A small val set: three questions on two images, the annotations in another order than the questions. */
function officialFiles() {
  return {
    [QUESTIONS]: {
      task_type: "Open-Ended",
      data_type: "mscoco",
      data_subtype: "val2014",
      questions: [
        { image_id: 42, question: "What color is the cat?", question_id: 420 },
        { image_id: 42, question: "How many cats are there?", question_id: 421 },
        { image_id: 7, question: "Is it raining?", question_id: 70 },
      ],
    },
    [ANNOTATIONS]: {
      annotations: [
        annotation(70, 7, "yes/no", times(10, "yes")),
        annotation(420, 42, "other", ["red", ...times(9, "blue")]),
        annotation(421, 42, "number", ["2", "2", "two", "two", "two", ...times(5, "3")]),
      ],
    },
  };
}

describe("vqav2 questions", () => {
  it("reads the official files in the annotations' order with Cobra's VQA prompt", async () => {
    const questions = await vqav2.questions({ dataDir: await dataDir(officialFiles()) });
    expect(questions.map((q) => q.questionId)).toEqual([70, 420, 421]);
    expect(questions[0]).toEqual({
      questionId: 70,
      image: "COCO_val2014_000000000007.jpg",
      prompt: "\nIs it raining?\nAnswer the question using a single word or phrase.",
      answer: { kind: "generate", maxNewTokens: 128 },
    });
    expect(questions[1]!.image).toBe("COCO_val2014_000000000042.jpg");
  });

  it("accepts vlm-evaluation's renamed files", async () => {
    const files = officialFiles();
    const dir = await dataDir({
      "v2_val2014_questions.json": files[QUESTIONS],
      "v2_val2014_annotations.json": files[ANNOTATIONS],
    });
    expect(await vqav2.questions({ dataDir: dir })).toHaveLength(3);
  });

  it("names the missing file", async () => {
    const dir = await dataDir({ [QUESTIONS]: officialFiles()[QUESTIONS] });
    const e = await vqav2.questions({ dataDir: dir }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(FileNotFoundError);
    expect((e as Error).message).toContain(ANNOTATIONS);
  });

  it("names the file and the field of a malformed annotation", async () => {
    const files = officialFiles();
    const broken = structuredClone(files[ANNOTATIONS]) as { annotations: Record<string, unknown>[] };
    delete broken.annotations[1]!.answers;
    const e = await vqav2
      .questions({ dataDir: await dataDir({ ...files, [ANNOTATIONS]: broken }) })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe("annotations[1].answers");
    expect((e as AnnotationFormatError).file).toContain(ANNOTATIONS);

    const notJson = await vqav2
      .questions({ dataDir: await dataDir({ ...files, [QUESTIONS]: "{ truncated" }) })
      .catch((err: unknown) => err);
    expect(notJson).toBeInstanceOf(AnnotationFormatError);
    expect((notJson as Error).message).toContain(QUESTIONS);
  });

  it("refuses an annotation whose question is not in the questions file", async () => {
    const files = officialFiles();
    files[QUESTIONS].questions.pop();
    const e = await vqav2.questions({ dataDir: await dataDir(files) }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AnnotationFormatError);
    expect((e as AnnotationFormatError).field).toBe("annotations[0].question_id");
  });
});

describe("VQA accuracy, worked out from vqaEval.py and vlm-evaluation's vqav2/eval.py", () => {
  it("normalizes only when the ten human answers disagree (official); always the prediction (vlm-eval)", () => {
    const yes = tenAnswers(times(10, "yes"));
    // Official: all ten agree, so nothing is normalized: each leave-one-out subset has 9 matches -> min(1, 9/3) = 1.
    expect(officialVqaAccuracy(yes, "yes")).toBe(1);
    // "Yes" is not lowercased when the answers agree: 0 matches.
    expect(officialVqaAccuracy(yes, "Yes")).toBe(0);
    // vlm-eval always normalizes the prediction: "Yes" -> "yes", 9 matches per subset -> 1.
    expect(vlmEvalVqaAccuracy(yes, "Yes")).toBe(1);
  });

  it("number words: the official script normalizes both sides, vlm-eval only the prediction", () => {
    const answers = tenAnswers(["2", "2", "two", "two", "two", ...times(5, "3")]);
    // Official: answers disagree -> "two" -> "2": five "2" and five "3"; the prediction "two" -> "2".
    // Leaving out a "2": 4 others match -> 1; leaving out a "3": 5 match -> 1. Mean 1.
    expect(officialVqaAccuracy(answers, "two")).toBe(1);
    // vlm-eval: human answers keep "two"; prediction "2". Leaving out one of the two "2": 1 match -> 1/3;
    // leaving out any of the other eight: 2 matches -> 2/3. (2 * 1/3 + 8 * 2/3) / 10 = 0.6.
    expect(vlmEvalVqaAccuracy(answers, "two")).toBeCloseTo(0.6, 15);
  });

  it("vlm-eval neither strips nor flattens the human answers", () => {
    const answers = tenAnswers(times(10, "yes\n"));
    // Official: "yes\n" -> "yes" for all ten, they agree, "yes" matches 9 per subset -> 1.
    expect(officialVqaAccuracy(answers, "yes")).toBe(1);
    // vlm-eval: process_punctuation leaves "yes\n" as is; the prediction "yes" matches none -> 0.
    expect(vlmEvalVqaAccuracy(answers, "yes")).toBe(0);
  });

  it("leaves out the other answers by dict inequality, so two identical dicts exclude each other", () => {
    const cat = { answer: "cat", answer_confidence: "yes", answer_id: 1 };
    const dogs = times(8, "dog").map((answer, i) => ({ answer, answer_confidence: "yes", answer_id: i + 2 }));
    // Leaving out either "cat" dict drops both (item != gtAnsDatum is False for the twin): 0 matches -> 0.
    // Leaving out a "dog": both cats match -> 2/3. (2 * 0 + 8 * 2/3) / 10 = 16/30.
    expect(officialVqaAccuracy([cat, { ...cat }, ...dogs], "cat")).toBeCloseTo(16 / 30, 15);
    // With distinct answer_ids the twin counts: leaving out a cat leaves 1 match -> 1/3: (2/3 + 16/3) / 10 = 0.6.
    expect(officialVqaAccuracy([cat, { ...cat, answer_id: 99 }, ...dogs], "cat")).toBeCloseTo(0.6, 15);
  });
});

describe("vqav2 score", () => {
  it("gives accuracy, per answer type and vlm-eval's accuracy in percent", async () => {
    const dir = await dataDir(officialFiles());
    const metrics = await vqav2.score(
      [
        { question_id: 70, answer: "Yes" },
        { question_id: 420, answer: "red" },
        { question_id: "421", answer: "two" },
      ],
      { dataDir: dir },
    );
    // 70 (all "yes"): official 0 ("Yes" kept as is), vlm-eval 1.
    // 420 (1 red, 9 blue), "red": leaving out the red -> 0 matches; leaving out a blue -> 1 match -> 1/3:
    //   9/3 / 10 = 0.3 for both scorers (nothing to normalize).
    // 421: official 1, vlm-eval 0.6 (worked out above).
    expect(metrics.task).toBe("vqav2");
    expect(metrics.n_examples).toBe(3);
    expect(metrics.metrics.accuracy).toBeCloseTo((100 * (0 + 0.3 + 1)) / 3, 12);
    expect(metrics.metrics.per_answer_type).toEqual({
      "yes/no": 0,
      other: expect.closeTo(30, 12),
      number: 100,
    });
    expect(metrics.metrics.accuracy_vlm_eval).toBeCloseTo((100 * (1 + 0.3 + 0.6)) / 3, 12);
  });

  it("refuses predictions for questions the annotations do not hold, or twice for one question", async () => {
    const dir = await dataDir(officialFiles());
    await expect(vqav2.score([{ question_id: 1, answer: "x" }], { dataDir: dir })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      vqav2.score(
        [
          { question_id: 70, answer: "yes" },
          { question_id: "70", answer: "no" },
        ],
        { dataDir: dir },
      ),
    ).rejects.toThrow(/predicted twice/);
  });
});
