import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { TaskDataMismatchError } from "../errors.js";
import { matchPredictions } from "./match.js";

const truth = new Map([
  ["7", "seven"],
  ["201307251", "gqa-like"],
]);

describe("matchPredictions (every task's pairing of predictions with ground truth)", () => {
  it("pairs by id compared as text: a number written as a string still matches", () => {
    const m = matchPredictions(
      "t",
      [
        { question_id: "7", answer: "a" },
        { question_id: 201307251, answer: "b" },
      ],
      truth,
      "f.json",
    );
    expect(m.map((x) => [x.answer, x.truth])).toEqual([
      ["a", "seven"],
      ["b", "gqa-like"],
    ]);
  });

  it("ids the data lacks are a task/data mismatch naming the source, the count and the first id", () => {
    const e = (() => {
      try {
        matchPredictions(
          "pope",
          [
            { question_id: 7, answer: "a" },
            { question_id: 999, answer: "b" },
          ],
          truth,
          "coco_pope_random.json",
        );
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(TaskDataMismatchError);
    // A mismatch is also a wrong argument, as the free-text tasks reported it before the merge.
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as Error).message).toMatch(/pope: 1 of 2 predictions .*coco_pope_random\.json.*\(first: 999\)/);
  });

  it("refuses no predictions, a question predicted twice, and an answer that is not text", () => {
    expect(() => matchPredictions("t", [], truth, "f")).toThrow(/no predictions to score/);
    expect(() =>
      matchPredictions(
        "t",
        [
          { question_id: 7, answer: "a" },
          { question_id: "7", answer: "b" },
        ],
        truth,
        "f",
      ),
    ).toThrow(/question 7 is predicted twice/);
    expect(() =>
      matchPredictions("t", [{ question_id: 7, answer: 3 as unknown as string }], truth, "f"),
    ).toThrow(/answer to question 7 is not a string/);
  });
});
