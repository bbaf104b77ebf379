// `cobra eval run` in-process through the tiny fixture model: one image pass per image, answers equal to a full
// pass per question, missing images reported, subsets as vlm-evaluation takes them.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { IncompleteRunError, TaskDataMismatchError } from "../src/eval/errors.js";
import { runEval } from "../src/eval/run/run-eval.js";
import type { Prediction } from "../src/eval/task.js";
import { evalTask } from "../src/eval/tasks/index.js";
import { Cobra } from "../src/runtime/load-node.js";
import { IMAGE_FILES, IMAGES_DIR, popeLines, writePope, writeRefer, writeVsr } from "./eval-data.js";
import { captureIO, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
let cobra: Cobra;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-eval-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  cobra = await Cobra.load(model);
});
afterAll(async () => {
  await cobra?.release();
  await rm(work, { recursive: true, force: true });
});

const readLines = async (file: string): Promise<Prediction[]> =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

function run(name: string, data: string, extra: Partial<Parameters<typeof runEval>[0]> = {}) {
  return runEval({
    task: evalTask("pope"),
    dataDir: data,
    imagesDir: IMAGES_DIR,
    outDir: join(work, name),
    model,
    loadEngine: async () => cobra,
    ...extra,
  });
}

describe("cobra eval run: pope", () => {
  it("asks POPE with vlm-evaluation's VQA prompt, in Cobra's Zephyr chat", async () => {
    const data = await writePope(join(work, "pope-prompt"), 1);
    const [q] = await evalTask("pope").questions({ dataDir: data });
    expect(cobra.promptString({ prompt: q.prompt })).toBe(
      "<|user|>\nIs there a dog in the image?\nAnswer the question using a single word or phrase.<|endoftext|>\n<|assistant|>\n",
    );
    expect(q.answer).toEqual({ kind: "choice", choices: ["Yes", "No"] });
  });

  it("one image pass per image gives the answers of a full pass per question", async () => {
    const data = await writePope(join(work, "pope-same"), 3);
    const reused = await run("reuse", data, { split: "popular" });
    const full = await run("full", data, { split: "popular", variant: { image_reuse: "off" } });
    const a = await readLines(join(work, "reuse/predictions.jsonl"));
    const b = await readLines(join(work, "full/predictions.jsonl"));
    expect(a).toHaveLength(IMAGE_FILES.length * 4);
    const byId = new Map(b.map((p) => [p.question_id, p]));
    for (const p of a) {
      const q = byId.get(p.question_id)!;
      expect(p.answer).toBe(q.answer);
      expect(p.probabilities!.Yes).toBeCloseTo(q.probabilities!.Yes, 5);
      expect(p.probabilities!.Yes + p.probabilities!.No).toBeCloseTo(1, 12);
      expect(p.answer).toBe(p.probabilities!.Yes >= p.probabilities!.No ? "Yes" : "No");
    }
    expect(reused.metrics.metrics).toEqual(full.metrics.metrics);
    const saved = JSON.parse(await readFile(join(work, "reuse/metrics.json"), "utf8"));
    expect(saved).toMatchObject({ task: "pope", split: "popular", n_examples: a.length, subset: null });
    expect(saved.software.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(saved.metrics)).toEqual(["accuracy", "precision", "recall", "f1", "yes_ratio"]);
  });

  it("a missing image is reported with its questions, the rest answered, and metrics say so", async () => {
    const data = join(work, "pope-missing");
    await writePope(data, 2);
    const lines = popeLines(2) + popeLines(2, ["no-such-image.jpg"], 100);
    await writeFile(join(data, "coco_pope_random.json"), lines);
    const failed = await run("missing", data).catch((e) => e);
    expect(failed).toBeInstanceOf(IncompleteRunError);
    expect(failed.message).toMatch(
      /2 of 14 questions were not answered \(first: question 100, image not found/,
    );
    const saved = JSON.parse(await readFile(join(work, "missing/metrics.json"), "utf8"));
    expect(saved.n_examples).toBe(12);
    expect(saved.unanswered.map((u: { question_id: number }) => u.question_id)).toEqual([100, 101]);
  });

  it("--limit takes vlm-evaluation's slim set of the split, from the three splits shuffled as one", async () => {
    const data = await writePope(join(work, "pope-limit"), 2);
    // sizes: random 12, popular 18, adversarial 24; pool order adversarial, popular, random (54 in all)
    const { metrics } = await run("limit", data, { limit: 5, seed: 21 });
    const ids = (await readLines(join(work, "limit/predictions.jsonl")))
      .map((p) => p.question_id)
      .sort((x, y) => Number(x) - Number(y));
    // CPython: [i - 42 + 1 for i in shuffled(range(54), Random(21)) if i >= 42][:5], sorted
    expect(ids).toEqual(EXPECTED_POPE_RANDOM_SLIM5);
    expect(metrics.subset).toMatchObject({ limit: 5, seed: 21, of: 12 });
  });

  it("resuming with other arguments, or over another run's predictions, is refused", async () => {
    const data = await writePope(join(work, "pope-other"), 1);
    await run("other", data);
    await expect(run("other", data, { split: "adversarial" })).rejects.toThrow(/holds another run.*split/);
    await expect(run("other", await writePope(join(work, "pope-other-2"), 1), { limit: 2 })).rejects.toThrow(
      /holds another run/,
    );
  });

  it("a predictions file of another run in --out is refused, not mixed in", async () => {
    const data = await writePope(join(work, "pope-foreign"), 1);
    await mkdir(join(work, "foreign"), { recursive: true });
    await writeFile(join(work, "foreign/predictions.jsonl"), '{"question_id": 999, "answer": "Yes"}\n');
    await expect(run("foreign", data)).rejects.toThrow(TaskDataMismatchError);
  });

  it("scoring predictions of another split is a task/data mismatch", async () => {
    const data = await writePope(join(work, "pope-mismatch"), 1);
    const wrong: Prediction[] = [{ question_id: 999, answer: "yes" }];
    await expect(evalTask("pope").score(wrong, { dataDir: data })).rejects.toBeInstanceOf(
      TaskDataMismatchError,
    );
  });
});

const EXPECTED_POPE_RANDOM_SLIM5 = [2, 7, 8, 9, 12];

describe("cobra eval run: vsr", () => {
  it("answers True/False from the first step's probabilities, equal with and without image reuse", async () => {
    const data = await writeVsr(join(work, "vsr"), 3);
    const task = evalTask("vsr");
    const reused = await run("vsr-reuse", data, { task });
    const full = await run("vsr-full", data, { task, variant: { image_reuse: "off" } });
    const a = await readLines(join(work, "vsr-reuse/predictions.jsonl"));
    const b = new Map(
      (await readLines(join(work, "vsr-full/predictions.jsonl"))).map((p) => [p.question_id, p]),
    );
    expect(a.map((p) => p.question_id).sort((x, y) => Number(x) - Number(y))).toEqual([...Array(18).keys()]);
    for (const p of a) {
      expect(p.answer).toBe(b.get(p.question_id)!.answer);
      expect(p.probabilities!.True).toBeCloseTo(b.get(p.question_id)!.probabilities!.True, 5);
    }
    expect(reused.metrics).toMatchObject({ task: "vsr", split: null, n_examples: 18 });
    expect(reused.metrics.metrics).toEqual(full.metrics.metrics);
  });
});

describe("cobra eval run: refcoco family", () => {
  it("generates box text for every expression; --limit takes vlm-evaluation's pool of the three val sets", async () => {
    const dir = join(work, "refer");
    await writeRefer(dir, "refcoco", "unc", 2);
    const { images } = await writeRefer(dir, "refcoco+", "unc", 3);
    await writeRefer(dir, "refcocog", "umd", 1);
    const task = evalTask("refcoco+");
    const { metrics } = await run("refcoco+", dir, { task, imagesDir: images, limit: 3 });
    const lines = await readLines(join(work, "refcoco+/predictions.jsonl"));
    // CPython: pool = 12 + 18 + 6 sentences; sorted([i - 12 + 1 for i in shuffled(range(36)) if 12 <= i < 30][:3])
    expect(lines.map((p) => p.question_id).sort((a, b) => Number(a) - Number(b))).toEqual(
      EXPECTED_REFCOCOP_SLIM3,
    );
    expect(lines.every((p) => typeof p.answer === "string")).toBe(true);
    expect(metrics).toMatchObject({ task: "refcoco+", split: "val", n_examples: 3 });
    expect(metrics.subset).toMatchObject({
      of: 18,
      pool: expect.stringMatching(/refcoco, refcoco\+, refcocog val/),
    });
    // the random-weight model writes no valid box
    expect(metrics.metrics).toEqual({ accuracy: 0 });
    // the batched answers from the image state are those of a full generate per question
    await run("refcoco+full", dir, { task, imagesDir: images, limit: 3, variant: { image_reuse: "off" } });
    const full = new Map(
      (await readLines(join(work, "refcoco+full/predictions.jsonl"))).map((p) => [p.question_id, p]),
    );
    for (const p of lines) expect(p.answer).toBe(full.get(p.question_id)!.answer);
  });
});

describe("cobra eval (CLI, in-process)", () => {
  it("run prints the metrics; score --json prints the same object's task, split, counts and metrics", async () => {
    const data = await writePope(join(work, "cli-pope"), 2);
    const out = join(work, "cli-run");
    const io = captureIO();
    const args = ["eval", "run", "--task", "pope", "--split", "adversarial", "--model", model];
    const code = await runCli([...args, "--data", data, "--images", IMAGES_DIR, "--out", out], io);
    expect({ code, err: io.err }).toEqual({ code: 0, err: "" });
    expect(io.out).toMatch(/^pope \(adversarial\): 24 scored\n {2}accuracy {3}\d+\.\d\d\n/);
    const saved = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));

    const scored = captureIO();
    const predictions = join(out, "predictions.jsonl");
    const scoreArgs = ["eval", "score", "--task", "pope", "--split", "adversarial", "--data", data];
    expect(await runCli([...scoreArgs, "--predictions", predictions, "--json"], scored)).toBe(0);
    const json = JSON.parse(scored.out);
    expect(json).toEqual({ task: "pope", split: "adversarial", n_examples: 24, metrics: saved.metrics });

    // report: this run beside one without image reuse (same numbers), as a table, Markdown and SVG
    const full = join(work, "cli-run-full");
    const fullArgs = [
      ...args,
      "--data",
      data,
      "--images",
      IMAGES_DIR,
      "--out",
      full,
      "--variant",
      "image_reuse=off",
    ];
    expect(await runCli(fullArgs, captureIO())).toBe(0);
    const reported = captureIO();
    const reportDir = join(work, "report");
    expect(await runCli(["eval", "report", out, full, "--out", reportDir], reported)).toBe(0);
    const [header, first, second] = reported.out.split("\n");
    expect(header).toMatch(/^run +task +split +n +variant +accuracy +precision +recall +f1 +yes_ratio$/);
    expect(first).toMatch(/^cli-run +pope +adversarial +24 +- /);
    expect(second).toMatch(/^cli-run-full +pope +adversarial +24 +image_reuse=off /);
    expect(first.split(/ +/).slice(-5)).toEqual(second.split(/ +/).slice(-5));
    const md = await readFile(join(reportDir, "eval-report.md"), "utf8");
    expect(md).toContain("| cli-run-full | pope | adversarial | 24 | image_reuse=off |");
    const svg = await readFile(join(reportDir, "eval-report.svg"), "utf8");
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="16"/g)).toHaveLength(10);
  });

  it("a malformed annotation file names the file and the field; an unknown task lists the tasks", async () => {
    const data = join(work, "cli-bad");
    await writePope(data, 1);
    await writeFile(
      join(data, "coco_pope_random.json"),
      '{"question_id": 1, "image": "a.png", "text": "Is?"}\n',
    );
    const predictions = join(work, "cli-bad.jsonl");
    await writeFile(predictions, '{"question_id": 1, "answer": "yes"}\n');
    const io = captureIO();
    const code = await runCli(
      ["eval", "score", "--task", "pope", "--data", data, "--predictions", predictions],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toMatch(
      /AnnotationFormatError: .*coco_pope_random\.json: field line 1\.label: is missing/,
    );
    const unknown = captureIO();
    expect(
      await runCli(["eval", "score", "--task", "okvqa", "--data", data, "--predictions", "x"], unknown),
    ).toBe(1);
    expect(unknown.err).toMatch(/no eval task "okvqa"; choose one of .*pope/);
  });
});
const EXPECTED_REFCOCOP_SLIM3 = [11, 13, 16];

describe("cobra eval speed", () => {
  it("times GQA-shaped questions with and without image reuse, interleaved; both give the same answers", async () => {
    const { measureImageReuse } = await import("../src/eval/speed.js");
    const r = await measureImageReuse({
      workDir: join(work, "speed"),
      engine: cobra,
      images: 2,
      perImage: 5,
      maxNewTokens: 3,
      fullQuestions: 3,
    });
    expect(r).toMatchObject({ images: 2, questions_per_image: 5, max_new_tokens: 3, same_answers: true });
    expect(r.reuse.questions).toBe(10);
    expect(r.full.questions).toBe(3);
    expect(r.speedup).toBeCloseTo(r.full.seconds_per_question / r.reuse.seconds_per_question, 10);
    // Interleaved image by image: image 0's 5 questions and 1 full pass, then image 1's and 2 full passes.
    const ids = async (run: string) =>
      (await readFile(join(work, "speed", run, "predictions.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).question_id);
    expect(await ids("reuse-0")).toEqual(["20000000", "20000001", "20000002", "20000003", "20000004"]);
    expect(await ids("full-0")).toEqual(["20000000"]);
    expect(await ids("reuse-1")).toHaveLength(5);
    expect(await ids("full-1")).toEqual(["20001000", "20001001"]);
  });
});
