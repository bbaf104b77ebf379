// `cobra eval run` on the free-text tasks (VQAv2, GQA, TextVQA, VizWiz) through the tiny fixture model, from
// small data sets in each benchmark's official format: every question answered from images named as the task
// expects them, and `cobra eval score --json` on the predictions giving the metrics of metrics.json.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import type { Prediction } from "../src/eval/task.js";
import { type FreeTextData, writeGqa, writeTextVqa, writeVizwiz, writeVqav2 } from "./eval-data.js";
import { captureIO, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-eval-free-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const readLines = async (file: string): Promise<Prediction[]> =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

/** The `cobra eval run` arguments for a data set, the run folder `<work>/<name>`. */
const runArgs = (task: string, set: FreeTextData, name: string, images = set.images) => [
  ...["eval", "run", "--task", task, "--model", model],
  ...["--data", set.data, "--images", images, "--out", join(work, name)],
];

/** `cobra eval score --json` on a predictions file. */
async function scoreJson(task: string, set: FreeTextData, file: string) {
  const io = captureIO();
  const args = ["eval", "score", "--task", task, "--data", set.data, "--predictions", file, "--json"];
  expect({ code: await runCli(args, io), err: io.err }).toEqual({ code: 0, err: "" });
  return JSON.parse(io.out);
}

/**
 * `cobra eval run`, then `cobra eval score --json` on its predictions: both must agree. `score` rescores edited
 * lines (written beside the run).
 */
async function runAndScore(task: string, set: FreeTextData, name: string, extra: string[] = []) {
  const out = join(work, name);
  const io = captureIO();
  const code = await runCli([...runArgs(task, set, name), ...extra], io);
  expect({ code, err: io.err }).toEqual({ code: 0, err: "" });
  const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
  const predictions = await readLines(join(out, "predictions.jsonl"));
  expect(await scoreJson(task, set, join(out, "predictions.jsonl"))).toEqual({
    task: metrics.task,
    split: metrics.split,
    n_examples: metrics.n_examples,
    metrics: metrics.metrics,
  });
  expect(metrics.unanswered).toEqual([]);
  for (const p of predictions) expect(typeof p.answer).toBe("string");
  const score = async (lines: Prediction[]) => {
    const file = join(work, `${name}-edited.jsonl`);
    await writeFile(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
    return scoreJson(task, set, file);
  };
  return { metrics, predictions, stdout: io.out, score };
}

/**
 * The predictions with the gold answer (the data's majority answer) put in for the official ids `goldFor` picks:
 * the scorer must find every question's answers by its id, so those count 100 and the model's noise 0.
 */
function withGold(
  set: FreeTextData,
  predictions: Prediction[],
  goldFor: (id: Prediction["question_id"]) => boolean,
) {
  const gold = new Map(set.ids.map((id, i) => [String(id), set.gold[i]]));
  return predictions.map((p) =>
    goldFor(p.question_id) ? { ...p, answer: gold.get(String(p.question_id))! } : p,
  );
}

const sorted = (ids: readonly (string | number)[]) => [...ids].map(String).sort();

describe("cobra eval run: free-text tasks end to end", () => {
  it("vqav2: every question answered from COCO_val2014_<id>.jpg, scored per answer type", async () => {
    const set = await writeVqav2(join(work, "vqav2"), 3);
    const { metrics, predictions, stdout, score } = await runAndScore("vqav2", set, "vqav2-run");
    expect(predictions.map((p) => p.question_id).sort()).toEqual([...set.ids].sort());
    expect(typeof predictions[0].question_id).toBe("number");
    expect(metrics).toMatchObject({ task: "vqav2", split: null, n_examples: 18, n_questions: 18 });
    expect(Object.keys(metrics.metrics.per_answer_type).sort()).toEqual(["number", "other", "yes/no"]);
    expect(stdout).toMatch(/^vqav2: 18 scored\n {2}accuracy +\d+\.\d\d\n/);
    // the model's noise matches no human answer; the gold answer for the yes/no questions (6 of 18) counts in full
    expect(metrics.metrics.accuracy).toBe(0);
    const yesNo = new Set(set.ids.filter((_, i) => ["yes", "no"].includes(set.gold[i])));
    expect(yesNo.size).toBe(6);
    const rescored = await score(withGold(set, predictions, (id) => yesNo.has(id as number)));
    expect(rescored.metrics.per_answer_type).toEqual({ "yes/no": 100, number: 0, other: 0 });
    expect(rescored.metrics.accuracy).toBeCloseTo(100 / 3, 10);
  });

  it("gqa: string question ids kept as strings, images <imageId>.jpg", async () => {
    const set = await writeGqa(join(work, "gqa"), 2);
    const { metrics, predictions, score } = await runAndScore("gqa", set, "gqa-run");
    expect(predictions.every((p) => typeof p.question_id === "string")).toBe(true);
    expect(sorted(predictions.map((p) => p.question_id))).toEqual(sorted(set.ids));
    expect(metrics).toMatchObject({ task: "gqa", n_examples: 12 });
    const rescored = await score(withGold(set, predictions, () => true));
    expect(rescored.metrics).toMatchObject({ accuracy: 100, binary: 100, open: 100 });
  });

  it("gqa --limit shuffles the questions in the file's order, not JSON.parse's numeric key order", async () => {
    const set = await writeGqa(join(work, "gqa-limit"), 2);
    const { predictions } = await runAndScore("gqa", set, "gqa-limit-run", ["--limit", "4"]);
    // CPython: ids = [str(20000000 - n * 7919) for n in range(12)]; Random(21).shuffle(ids); sorted(ids[:4])
    expect(sorted(predictions.map((p) => p.question_id))).toEqual([
      "19912891",
      "19936648",
      "19960405",
      "20000000",
    ]);
  });

  it("textvqa (ocr=both): each question asked with and without its OCR tokens, scored as both", async () => {
    const set = await writeTextVqa(join(work, "textvqa"), 2);
    const { metrics, predictions, score } = await runAndScore("textvqa", set, "textvqa-run");
    expect(sorted(predictions.map((p) => p.question_id))).toEqual(
      sorted(set.ids.flatMap((id) => [id, `${id}:pure`])),
    );
    expect(metrics).toMatchObject({ task: "textvqa", n_examples: 12, n_questions: 24 });
    expect(Object.keys(metrics.metrics).sort()).toEqual(["accuracy", "accuracy_ocr", "accuracy_pure"]);
    // gold for the OCR form only: ":pure" lines are scored apart, against the same question's answers
    const rescored = await score(withGold(set, predictions, (id) => typeof id === "number"));
    expect(rescored.metrics).toEqual({ accuracy: 100, accuracy_ocr: 100, accuracy_pure: 0 });
    expect(rescored.n_examples).toBe(12);
  });

  it("textvqa (ocr=first): one form per question", async () => {
    const set = await writeTextVqa(join(work, "textvqa-first"), 1);
    const { metrics, predictions } = await runAndScore("textvqa", set, "textvqa-first-run", [
      "--variant",
      "ocr=first",
    ]);
    expect(sorted(predictions.map((p) => p.question_id))).toEqual(sorted(set.ids));
    expect(Object.keys(metrics.metrics)).toEqual(["accuracy"]);
  });

  it("textvqa --limit: vlm-evaluation's slim set of the official ids, each asked in both forms", async () => {
    const set = await writeTextVqa(join(work, "textvqa-limit"), 2); // ids 34602 .. 34613
    // CPython: ids = list(range(34602, 34614)); Random(21).shuffle(ids); sorted(ids[:5])
    const slim5 = [34602, 34605, 34607, 34610, 34613];
    const both = await runAndScore("textvqa", set, "textvqa-limit-both", ["--limit", "5"]);
    expect(sorted(both.predictions.map((p) => p.question_id))).toEqual(
      sorted(slim5.flatMap((id) => [id, `${id}:pure`])),
    );
    expect(both.metrics).toMatchObject({
      n_examples: 5,
      n_questions: 10,
      subset: { limit: 5, seed: 21, of: 12 },
    });
    // one form asks the same slim set
    const first = await runAndScore("textvqa", set, "textvqa-limit-first", [
      ...["--limit", "5", "--variant", "ocr=first"],
    ]);
    expect(first.predictions.map((p) => p.question_id).sort()).toEqual(slim5);
    expect(first.metrics.subset).toMatchObject({ of: 12 });
  });

  it("vizwiz: ids are list positions, images named by val.json", async () => {
    const set = await writeVizwiz(join(work, "vizwiz"), 8);
    const { metrics, predictions, score } = await runAndScore("vizwiz", set, "vizwiz-run");
    expect(predictions.map((p) => p.question_id).sort((a, b) => Number(a) - Number(b))).toEqual(set.ids);
    expect(metrics).toMatchObject({ task: "vizwiz", n_examples: 8 });
    const rescored = await score(withGold(set, predictions, () => true));
    expect(rescored.metrics).toMatchObject({
      accuracy: 100,
      answerable_accuracy: 100,
      unanswerable_accuracy: 100,
    });
  });
});

describe("cobra eval run: free-text runs with nothing to score", () => {
  it("--limit 0 asks nothing and writes metrics.json with no figures", async () => {
    const set = await writeVqav2(join(work, "vqav2-none"), 1);
    const io = captureIO();
    expect(await runCli([...runArgs("vqav2", set, "vqav2-limit0"), "--limit", "0"], io)).toBe(0);
    const saved = JSON.parse(await readFile(join(work, "vqav2-limit0/metrics.json"), "utf8"));
    expect(saved).toMatchObject({
      task: "vqav2",
      n_examples: 0,
      n_questions: 0,
      metrics: {},
      unanswered: [],
    });
    expect(saved.subset).toMatchObject({ limit: 0, of: 6 });
  });

  it("every image missing: metrics.json lists every question as unanswered, and the run fails saying so", async () => {
    const set = await writeGqa(join(work, "gqa-none"), 1);
    const io = captureIO();
    expect(await runCli(runArgs("gqa", set, "gqa-missing", join(work, "no-images")), io)).toBe(1);
    expect(io.err).toMatch(/IncompleteRunError: 6 of 6 questions were not answered .*image not found/);
    const saved = JSON.parse(await readFile(join(work, "gqa-missing/metrics.json"), "utf8"));
    expect(saved).toMatchObject({ task: "gqa", n_examples: 0, metrics: {} });
    expect(sorted(saved.unanswered.map((u: { question_id: string }) => u.question_id))).toEqual(
      sorted(set.ids),
    );
  });
});
