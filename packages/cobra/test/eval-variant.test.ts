// `cobra eval run --variant` for the ablations the issue lists, through the tiny fixture model: each key recorded in
// run.json and metrics.json and shown by `cobra eval report`, and refused when unknown or inapplicable.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import type { Prediction } from "../src/eval/task.js";
import { Cobra } from "../src/runtime/load-node.js";
import { type FreeTextData, writePope, writeVqav2 } from "./eval-data.js";
import { captureIO, IMAGE_NAMES, imagePath, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
let vqa: FreeTextData;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-eval-variant-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  vqa = await writeVqav2(join(work, "vqav2"), 1);
});
afterAll(() => rm(work, { recursive: true, force: true }));

const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8"));
const answers = async (dir: string) =>
  (await readFile(join(dir, "predictions.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Prediction)
    .map((p) => [p.question_id, p.answer]);

/** `cobra eval run --task vqav2` with these variant arguments into `<work>/<name>`. */
async function runVqa(name: string, variant: string[]) {
  const io = captureIO();
  const args = [
    "eval",
    "run",
    "--task",
    "vqav2",
    "--model",
    model,
    "--data",
    vqa.data,
    "--images",
    vqa.images,
  ];
  const code = await runCli(
    [...args, "--out", join(work, name), ...variant.flatMap((v) => ["--variant", v])],
    io,
  );
  return { code, err: io.err, dir: join(work, name) };
}

describe("cobra eval run --variant", () => {
  it("resize= prepares the images with another strategy; it is recorded and reported", async () => {
    const base = await runVqa("v-base", ["max_new_tokens=3"]);
    const letterbox = await runVqa("v-letterbox", ["max_new_tokens=3", "resize=letterbox", "dtype=fp32"]);
    expect([base.code, letterbox.code]).toEqual([0, 0]);
    const variant = { max_new_tokens: "3", resize: "letterbox", dtype: "fp32" };
    expect((await readJson(join(letterbox.dir, "run.json"))).variant).toEqual(variant);
    expect((await readJson(join(letterbox.dir, "metrics.json"))).variant).toEqual(variant);

    const report = captureIO();
    expect(await runCli(["eval", "report", base.dir, letterbox.dir, "--out", join(work, "r")], report)).toBe(
      0,
    );
    const rows = report.out.split("\n");
    expect(rows[1]).toMatch(/^v-base +vqav2 +- +6 +max_new_tokens=3 /);
    expect(rows[2]).toMatch(/^v-letterbox +vqav2 +- +6 +max_new_tokens=3 resize=letterbox dtype=fp32 /);
    expect(await readFile(join(work, "r", "eval-report.md"), "utf8")).toContain(
      "| v-letterbox | vqav2 | - | 6 | max_new_tokens=3 resize=letterbox dtype=fp32 |",
    );
  });

  it("the encoder loaded with resize= uses that strategy (the pixels of a non-square image change)", async () => {
    const image = imagePath("chelsea"); // 451x300
    const naive = await Cobra.load(model);
    const letterbox = await Cobra.load(model, { resizeStrategy: "letterbox" });
    try {
      const a = (await naive.encodeImage(image)).pixels[0].data;
      const b = (await letterbox.encodeImage(image)).pixels[0].data;
      expect(a.length).toBe(b.length);
      expect(a.some((v, i) => v !== b[i])).toBe(true);
    } finally {
      await Promise.all([naive.release(), letterbox.release()]);
    }
  });

  it("dtype= checks the folder before any work: another dtype names the one it has and the cobra quantize command", async () => {
    const r = await runVqa("v-q8", ["dtype.lm=q8"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/asks for the lm as q8, but .*model has its lm as fp32/);
    expect(r.err).toContain(`cobra quantize --model ${model} --dtype lm=q8 --out <folder>`);
    const bad = await runVqa("v-int3", ["dtype=int3"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--variant dtype=int3: choose one of fp32, fp16, q8, q4/);
    // refused before the run folder was claimed: no run.json recording a dtype the model does not have
    expect(existsSync(r.dir)).toBe(false);
    expect(existsSync(bad.dir)).toBe(false);
  });

  it("decoding settings reach the decoder and are recorded; a seed repeats a sampled run", async () => {
    const greedy = await runVqa("v-greedy", ["max_new_tokens=4"]);
    const hot = ["max_new_tokens=4", "do_sample=true", "top_k=0", "temperature=50", "sample_seed=7"];
    const sampled = await runVqa("v-sampled", hot);
    const again = await runVqa("v-sampled-again", hot);
    expect([greedy.code, sampled.code, again.code]).toEqual([0, 0, 0]);
    expect(await answers(again.dir)).toEqual(await answers(sampled.dir));
    expect(await answers(sampled.dir)).not.toEqual(await answers(greedy.dir));
    expect((await readJson(join(sampled.dir, "metrics.json"))).variant).toMatchObject({
      do_sample: "true",
      temperature: "50",
      sample_seed: "7",
    });
  });

  it("refuses an unknown key or value, and decoding settings on a task answered from probabilities", async () => {
    const unknown = await runVqa("v-unknown", ["resise=letterbox"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/--variant resise: not a setting of vqav2 or of the runner; known: .*resize/);
    const squash = await runVqa("v-squash", ["resize=squash"]);
    expect(squash.err).toMatch(/resize=squash: choose one of resize-naive, resize-crop, letterbox/);

    const pope = await writePope(join(work, "pope"), 1);
    const io = captureIO();
    const args = ["eval", "run", "--task", "pope", "--model", model, "--data", pope];
    const code = await runCli(
      [
        ...args,
        "--images",
        join(imagePath(IMAGE_NAMES[0]), ".."),
        "--out",
        join(work, "v-pope"),
        "--variant",
        "temperature=0.5",
      ],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toMatch(/pope answers from the first step's probabilities .* do not apply/);
  });
});
