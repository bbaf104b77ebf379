import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vsr } from "./vsr.js";

let data = "";
const line = (image: string, caption: string, label: number) =>
  JSON.stringify({ image, image_link: "http://x", caption, label, relation: "near", subj: "a", obj: "b" });

beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), "vsr-"));
  await writeFile(
    join(data, "test.jsonl"),
    `${[
      line("1.jpg", "The cat is on the bed.", 1),
      line("1.jpg", "The bed is under the cat.", 0),
      line("2.jpg", "The cup is left of the car.", 1),
      line("3.jpg", "The dog is near the car.", 0),
    ].join("\n")}\n`,
  );
});
afterAll(() => rm(data, { recursive: true, force: true }));

describe("vsr", () => {
  it("numbers the examples by their line, asks vlm-evaluation's True/False prompt", async () => {
    const qs = await vsr.questions({ dataDir: data });
    expect(qs.map((q) => [q.questionId, q.image])).toEqual([
      [0, "1.jpg"],
      [1, "1.jpg"],
      [2, "2.jpg"],
      [3, "3.jpg"],
    ]);
    expect(qs[0].prompt).toBe(
      '\nBased on the image, is this statement "True" or "False"? The cat is on the bed.\nRespond with "True" or "False" directly.',
    );
    expect(qs[0].answer).toEqual({ kind: "choice", choices: ["True", "False"] });
  });

  it("exact match on the likelier choice (the first on a tie, as numpy's argmax), text when no probabilities", async () => {
    const m = await vsr.score(
      [
        // label True, P(True) > P(False): right
        { question_id: 0, answer: "True", probabilities: { True: 0.7, False: 0.3 } },
        // label False, a tie reads as True: wrong
        { question_id: 1, answer: "True", probabilities: { True: 0.5, False: 0.5 } },
        // label True, no probabilities, text "false.": wrong
        { question_id: 2, answer: "false." },
        // label False, text "False": right
        { question_id: 3, answer: " False" },
      ],
      { dataDir: data },
    );
    expect(m).toEqual({ task: "vsr", split: null, n_examples: 4, metrics: { accuracy: 50 } });
  });

  it("a label that is not 0/1 names the line and field; a split is refused", async () => {
    const bad = join(data, "bad");
    await mkdir(bad);
    await writeFile(join(bad, "test.jsonl"), `${line("1.jpg", "x", 1)}\n${line("1.jpg", "y", 2)}\n`);
    await expect(vsr.questions({ dataDir: bad })).rejects.toThrow(
      /test\.jsonl: field line 2\.label: expected 0 or 1/,
    );
    await expect(vsr.questions({ dataDir: data, split: "val" })).rejects.toThrow(/leave out --split/);
  });
});
