import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pickleProtocol0, writeRefer } from "../../../test/eval-data.js";
import { refcoco, refcocog } from "./refcoco.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "refer-"));
  await writeRefer(dir, "refcoco", "unc", 2, ["val", "testA", "testB"]);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("refcoco (REFER's refs(unc).p + instances.json)", () => {
  it("one question per sentence of the split's refs, with vlm-evaluation's prompt and image path", async () => {
    const qs = await refcoco.questions({ dataDir: dir, split: "val" });
    // refs 1 and 4 are in val (splits cycle val, testA, testB over the six images), two sentences each
    expect(qs.map((q) => [q.questionId, q.image])).toEqual([
      [1, "COCO_train2014_000000000001.jpg"],
      [2, "COCO_train2014_000000000001.jpg"],
      [7, "COCO_train2014_000000000004.jpg"],
      [8, "COCO_train2014_000000000004.jpg"],
    ]);
    expect(qs[0].prompt).toBe(
      '\nPlease provide the bounding box coordinate of the region this sentence describes: "the dog on the right"',
    );
    expect(qs[0].answer).toEqual({ kind: "generate", maxNewTokens: 128 });
    expect(await refcoco.questions({ dataDir: dir, split: "testB" })).toHaveLength(4);
  });

  it("Acc@0.5 against the normalized, rounded COCO box; invalid text is wrong", async () => {
    // bbox [10, 20, 30, 40] in a 100x200 image -> [0.1, 0.1, 0.4, 0.3]
    const m = await refcoco.score(
      [
        { question_id: 1, answer: "[0.1, 0.1, 0.4, 0.3]" }, // IoU 1
        // half the box, but in floats (CPython too) IoU is 0.49999999999999994: wrong
        { question_id: 2, answer: "[0.1, 0.1, 0.25, 0.3]" },
        // half the box the other way: IoU 0.5000000000000001 in CPython: right
        { question_id: 7, answer: "[0.1, 0.1, 0.4, 0.2]" },
        { question_id: 8, answer: "a dog" }, // invalid
      ],
      { dataDir: dir, split: "val" },
    );
    expect(m).toEqual({
      task: "refcoco",
      split: "val",
      n_examples: 4,
      metrics: { accuracy: 50 },
      counts: { correct: 2, incorrect: 1, invalid: 1 },
    });
  });

  it("a bad refs file or a missing one is an error naming it; a pickled global is refused", async () => {
    await expect(refcocog.questions({ dataDir: dir })).rejects.toThrow(/refs\(umd\)\.p/);
    const bad = join(dir, "bad");
    await writeRefer(bad, "refcoco", "unc", 1);
    await writeFile(join(bad, "refcoco", "refs(unc).p"), pickleProtocol0([{ ref_id: 1, sentences: [] }]));
    await expect(refcoco.questions({ dataDir: bad })).rejects.toThrow(
      /refs\(unc\)\.p: field refs\[0\]\.ann_id: is missing/,
    );
    await writeFile(join(bad, "refcoco", "refs(unc).p"), Buffer.from("cos\nsystem\n(S'ls'\ntR.", "latin1"));
    await expect(refcoco.questions({ dataDir: bad })).rejects.toThrow(/os\.system/);
  });
});
