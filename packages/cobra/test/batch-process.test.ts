// `cobra batch` as a user's shell runs it: one prompt about every image of a folder or list file, a JSON line
// per image; answers equal to `cobra generate`'s, a run killed mid-way resumed with each image once, a corrupt
// image an error line that does not stop the run, another run's file refused and left untouched.
import { appendFile, copyFile, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { BIN, batchArgs, runCobra } from "./cli-process.js";
import { IMAGE_FILES, IMAGES_DIR } from "./eval-data.js";
import { RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
/** The fixture images, one of them in a sub-folder, a corrupt one, and a file that is not an image. */
let folder = "";
/** Many copies of the fixture images: a run long enough to be killed mid-way. */
let many = "";
const MANY = 36;
const PROMPT = "Describe the image in one sentence.";

beforeAll(async () => {
  if (!(await stat(BIN).catch(() => null)))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
  work = await mkdtemp(join(tmpdir(), "cobra-batch-process-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  folder = join(work, "images");
  await mkdir(join(folder, "sub"), { recursive: true });
  for (const f of IMAGE_FILES.slice(1)) await copyFile(join(IMAGES_DIR, f), join(folder, f));
  await copyFile(join(IMAGES_DIR, IMAGE_FILES[0]), join(folder, "sub", IMAGE_FILES[0]));
  await writeFile(join(folder, "broken.png"), "this is text, not a PNG");
  await writeFile(join(folder, "notes.txt"), "not an image: not asked about");
  many = join(work, "many");
  await mkdir(many);
  for (let i = 0; i < MANY; i++) {
    const f = IMAGE_FILES[i % IMAGE_FILES.length];
    await copyFile(join(IMAGES_DIR, f), join(many, `${String(i).padStart(3, "0")}-${f}`));
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));

interface Line {
  image: string;
  prompt: string;
  answer?: string;
  tokens?: number;
  stop_reason?: string;
  error?: string;
  model: string;
  model_sha256: string;
  generation: Record<string, unknown>;
}

const readLines = async (file: string): Promise<Line[]> =>
  (await readFile(file, "utf8").catch(() => ""))
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
const byImage = (lines: Line[]) => new Map(lines.map((l) => [l.image, l]));
const batchRun = (images: string, out: string, ...more: string[]) =>
  batchArgs({ model, images, prompt: PROMPT, out, maxNewTokens: 12 }, ...more);

describe("cobra batch", () => {
  it("answers every image of a folder as `cobra generate` does; a corrupt image is an error line", async () => {
    const out = join(work, "folder.jsonl");
    const run = await runCobra(batchRun(folder, out, "--batch", "4"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/cobra batch: broken\.png: ImageDecodeError: .*unsupported image format/);
    expect(run.stdout).toMatch(
      /^7 images: 7 done now in [\d.]+ s \([\d.]+ images\/s\), 0 before; 1 with an error line/,
    );

    const lines = await readLines(out);
    const names = [...IMAGE_FILES.slice(1), "broken.png", `sub/${IMAGE_FILES[0]}`].sort();
    expect(lines.map((l) => l.image).sort()).toEqual(names);
    const broken = byImage(lines).get("broken.png")!;
    expect(broken.answer).toBeUndefined();
    expect(broken.error).toMatch(/^ImageDecodeError: /);
    for (const l of lines) {
      expect(l.prompt).toBe(PROMPT);
      expect(l.model).toBe(model);
      expect(l.model_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(l.generation).toEqual({ max_new_tokens: 12 });
    }

    for (const l of lines.filter((l) => l.error === undefined)) {
      const alone = await runCobra([
        "generate",
        "--model",
        model,
        "--image",
        join(folder, l.image),
        "--prompt",
        PROMPT,
        "--max-new-tokens",
        "12",
        "--json",
      ]);
      expect(alone.code, alone.stderr).toBe(0);
      const g = JSON.parse(alone.stdout);
      expect(l.answer, l.image).toBe(g.text);
      expect(l.tokens).toBe(g.ids.length);
      expect(l.stop_reason).toBe("max_new_tokens"); // the tiny random model never says end-of-text
    }

    // Started again: nothing left to do, so no model is loaded and the file is not touched.
    const before = await readFile(out, "utf8");
    const again = await runCobra(batchRun(folder, out, "--batch", "4"));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^7 images: 0 done now, 7 before; 1 with an error line/);
    expect(await readFile(out, "utf8")).toBe(before);

    // The image mended, --retry-errors asks about it again; the file keeps one line per image.
    await copyFile(join(IMAGES_DIR, IMAGE_FILES[1]), join(folder, "broken.png"));
    const retried = await runCobra(batchRun(folder, out, "--retry-errors"));
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(/dropped 1 error line to try those images again/);
    const after = await readLines(out);
    expect(after.map((l) => l.image).sort()).toEqual(names);
    expect(after.every((l) => l.error === undefined)).toBe(true);
    expect(byImage(after).get("broken.png")!.answer).toBe(byImage(after).get(IMAGE_FILES[1])!.answer);
  }, 300_000); // eleven CLI processes: minutes on a loaded 2-core machine

  it("killed mid-run and started again: the same lines as an uninterrupted run, each image once", async () => {
    const whole = join(work, "whole.jsonl");
    const first = await runCobra(batchRun(many, whole, "--batch", "6"));
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });

    const resumed = join(work, "resumed.jsonl");
    const killed = await runCobra(batchRun(many, resumed, "--batch", "1"), {
      killWhen: async () => (await readLines(resumed)).length >= 8,
    });
    expect(killed.signal, "the run finished before it could be killed: use more images").toBe("SIGKILL");
    const partial = (await readLines(resumed)).length;
    expect(partial).toBeGreaterThanOrEqual(8);
    expect(partial).toBeLessThan(MANY);
    // as if the kill had landed inside a write: half a line, no newline
    await appendFile(resumed, '{"image":"035-x.png","prompt":"Desc');

    const again = await runCobra(batchRun(many, resumed, "--batch", "3"));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/cut a torn last line \(\d+ bytes\) left by a run that was stopped/);
    expect(again.stdout).toMatch(
      new RegExp(
        `^${MANY} images: ${MANY - partial} done now in [\\d.]+ s \\([\\d.]+ images/s\\), ${partial} before\\n`,
      ),
    );

    const a = await readLines(resumed);
    const b = byImage(await readLines(whole));
    expect(a).toHaveLength(MANY);
    expect(new Set(a.map((l) => l.image)).size).toBe(MANY);
    for (const l of a) expect(l).toEqual(b.get(l.image));
  }, 300_000);

  it("Ctrl-C (SIGINT) stops with whole lines only and says how to resume", async () => {
    const out = join(work, "interrupted.jsonl");
    const stopped = await runCobra(batchRun(many, out, "--batch", "1"), {
      killWhen: async () => (await readLines(out)).length >= 4,
      killSignal: "SIGINT",
    });
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(
      new RegExp(
        `cobra: AbortError: stopped with \\d+ of ${MANY} images done .*run the same command to resume`,
      ),
    );
    const text = await readFile(out, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trim().split("\n");
    expect(lines.length).toBeLessThan(MANY);
    for (const l of lines) expect(JSON.parse(l).answer).toEqual(expect.any(String));
  });

  it("refuses an output file of another prompt, model or settings, and leaves it as it was", async () => {
    const out = join(work, "mine.jsonl");
    const few = join(work, "few");
    await mkdir(few);
    await copyFile(join(IMAGES_DIR, IMAGE_FILES[0]), join(few, IMAGE_FILES[0]));
    const first = await runCobra(batchRun(few, out));
    expect(first.code, first.stderr).toBe(0);
    const before = await readFile(out, "utf8");

    const otherModel = join(work, "other-model");
    await cp(model, otherModel, { recursive: true });
    const manifest = JSON.parse(await readFile(join(otherModel, "cobra.json"), "utf8"));
    await writeFile(join(otherModel, "cobra.json"), JSON.stringify({ ...manifest, modelId: "another" }));

    const refusals: [string[], RegExp][] = [
      [
        batchRun(few, out).map((a) => (a === PROMPT ? "List the objects." : a)),
        /was written with prompt "Describe the image in one sentence\." \(line 1\); this run has "List the objects\."/,
      ],
      [
        batchRun(few, out).map((a) => (a === model ? otherModel : a)),
        /was written with the model \S+ \(model sha256 [0-9a-f]{64}\) \(line 1\); this run has the model \S+other-model/,
      ],
      [[...batchRun(few, out), "--max-new-tokens", "5"], /generation \{"max_new_tokens":12\}/],
      [[...batchRun(few, out), "--do-sample", "--seed", "3"], /generation .*this run has .*"do_sample":true/],
    ];
    for (const [args, message] of refusals) {
      const r = await runCobra(args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^cobra: BatchRunMismatchError: .*never mixes two runs in one file/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(await readFile(out, "utf8")).toBe(before);
    }

    const dash = await runCobra(batchRun(few, "-"));
    expect(dash.code).toBe(1);
    expect(dash.stderr).toMatch(
      /^cobra: InvalidArgumentError: --out -: cobra batch writes a file it can resume/,
    );
    await expect(stat("-")).rejects.toThrow(/ENOENT/); // the CLI runs in this process's folder

    const foreign = join(work, "predictions.jsonl");
    await writeFile(foreign, '{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answer": "no"}\n');
    const r = await runCobra(batchRun(few, foreign));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cobra: BatchFileError: .*line 1: field image: expected a string/);
    expect(await readFile(foreign, "utf8")).toBe(
      '{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answer": "no"}\n',
    );
  });

  it("--do-sample --seed N: each image samples with its own seeded RNG, as `cobra generate --seed N` does", async () => {
    const list = join(work, "two.txt");
    await writeFile(list, `${join(IMAGES_DIR, IMAGE_FILES[0])}\n${join(IMAGES_DIR, IMAGE_FILES[1])}\n`);
    const sampling = ["--do-sample", "--top-k", "0", "--seed", "5"];
    const out = join(work, "sampled.jsonl");
    const run = await runCobra(batchRun(list, out, "--batch", "2", ...sampling));
    expect(run.code, run.stderr).toBe(0);
    const lines = await readLines(out);
    expect(lines.map((l) => l.generation)).toEqual([
      { max_new_tokens: 12, do_sample: true, top_k: 0, seed: 5 },
      { max_new_tokens: 12, do_sample: true, top_k: 0, seed: 5 },
    ]);
    const greedy = byImage(await readLines(join(work, "folder.jsonl")));
    for (const l of lines) {
      const args = ["generate", "--model", model, "--image", l.image, "--prompt", PROMPT, "--json"];
      const alone = await runCobra([...args, "--max-new-tokens", "12", ...sampling]);
      expect(alone.code, alone.stderr).toBe(0);
      expect(l.answer).toBe(JSON.parse(alone.stdout).text);
    }
    // sampling did change the answers: the seed, not greedy decoding, made them agree
    expect(lines[1].answer).not.toBe(greedy.get(IMAGE_FILES[1])!.answer);
  });

  it("reads a list file: paths relative to its folder, names kept as written, a missing image an error line", async () => {
    const lists = join(work, "lists");
    await mkdir(lists);
    const list = join(lists, "images.txt");
    const absolute = join(folder, IMAGE_FILES[2]);
    await writeFile(
      list,
      `# images to caption\n../images/${IMAGE_FILES[1]}\n\n${absolute}\r\n../images/gone.png\n../images/sub/${IMAGE_FILES[0]}\n`,
    );
    const out = join(work, "list.jsonl");
    const run = await runCobra(batchRun(list, out, "--batch", "2"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /cobra batch: \.\.\/images\/gone\.png: FileNotFoundError: image file not found/,
    );
    const lines = byImage(await readLines(out));
    expect([...lines.keys()].sort()).toEqual(
      [
        `../images/${IMAGE_FILES[1]}`,
        absolute,
        "../images/gone.png",
        `../images/sub/${IMAGE_FILES[0]}`,
      ].sort(),
    );
    expect(lines.get("../images/gone.png")!.error).toMatch(/^FileNotFoundError: /);
    // the same images named from the folder run: the same answers
    const fromFolder = byImage(await readLines(join(work, "folder.jsonl")));
    expect(lines.get(absolute)!.answer).toBe(fromFolder.get(IMAGE_FILES[2])!.answer);
    expect(lines.get(`../images/sub/${IMAGE_FILES[0]}`)!.answer).toBe(
      fromFolder.get(`sub/${IMAGE_FILES[0]}`)!.answer,
    );
  });
});
