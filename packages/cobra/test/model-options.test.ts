// cobra verify, --verify and --max-pixels, on the tiny fixture model and tampered copies of it.
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { manifestFiles } from "../src/manifest.js";
import { CASES, captureIO, imagePath, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
let listed: { path: string; size: number; sha256: string }[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-options-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  listed = manifestFiles(JSON.parse(await readFile(join(model, "cobra.json"), "utf8")));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function cli(argv: string[]) {
  const io = captureIO();
  const code = await runCli(argv, io);
  return { code, out: io.out, err: io.err };
}

/** A copy of the model with one byte of `file` inverted (same size: only a hash can tell). */
async function withFlippedByte(name: string, file: string): Promise<string> {
  const dir = join(work, name);
  await cp(model, dir, { recursive: true });
  const bytes = await readFile(join(dir, file));
  bytes[bytes.length >> 1] ^= 0xff;
  await writeFile(join(dir, file), bytes);
  return dir;
}

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
const c = CASES[0];
const generate = (dir: string, ...extra: string[]) =>
  cli(["generate", "--model", dir, "--image", imagePath(c.image), "--prompt", c.user_message, ...extra]);

describe("cobra verify <dir>", () => {
  it("an intact model: every file of cobra.json ok, exit 0", async () => {
    const r = await cli(["verify", model]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(listed.map((f) => `ok  ${f.path}\n`).join(""));
    expect(r.err).toBe(`all ${listed.length} files of ${model} match cobra.json\n`);
  });

  it("a flipped byte, a truncated file and a missing one: each reported, exit 1", async () => {
    const dir = await withFlippedByte("three-bad", "lm.onnx.data");
    await truncate(join(dir, "dino.onnx.data"), 1000);
    await rm(join(dir, "tokenizer.json"));
    const r = await cli(["verify", dir]);
    expect(r.code).toBe(1);
    const size = (path: string) => listed.find((f) => f.path === path)!.size;
    const lmSha = listed.find((f) => f.path === "lm.onnx.data")!.sha256;
    const expected: Record<string, string> = {
      "dino.onnx.data": `BAD dino.onnx.data has 1000 bytes, cobra.json lists ${size("dino.onnx.data")}: it is truncated or replaced`,
      "lm.onnx.data": `BAD lm.onnx.data has sha256 ${await sha256(join(dir, "lm.onnx.data"))}, cobra.json lists ${lmSha}: it was modified or corrupted`,
      "tokenizer.json": "BAD tokenizer.json is missing",
    };
    // One line per file, in cobra.json's order.
    const bad = r.out.split("\n").filter((l) => l.startsWith("BAD"));
    expect(bad).toEqual(listed.filter((f) => f.path in expected).map((f) => expected[f.path]));
    expect(r.out.split("\n").filter((l) => l.startsWith("ok  "))).toHaveLength(listed.length - 3);
    expect(r.err).toMatch(/^cobra: ModelFormatError: 3 of \d+ files of .* do not match cobra\.json/);
  });

  it("a folder that is not a model", async () => {
    const r = await cli(["verify", work]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FileNotFoundError: model manifest .*not found/);
  });
});

describe("--verify", () => {
  it("without it a flipped weight byte goes unnoticed; with it generate and features refuse the model", async () => {
    const dir = await withFlippedByte("flipped", "lm.onnx.data");
    expect((await generate(dir, "--max-new-tokens", "1")).code).toBe(0);
    const g = await generate(dir, "--max-new-tokens", "1", "--verify");
    expect(g.code).toBe(1);
    expect(g.err).toMatch(
      /^cobra: ModelFormatError: .*lm\.onnx\.data has sha256 [0-9a-f]{64}, cobra\.json lists/,
    );
    const f = await cli([
      "features",
      "--model",
      dir,
      "--image",
      imagePath(c.image),
      "--out",
      join(work, "f.safetensors"),
      "--verify",
    ]);
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/ModelFormatError: .*lm\.onnx\.data has sha256/);
  });

  it("an intact model loads and answers as the reference", async () => {
    const r = await generate(model, "--max-new-tokens", "3", "--json", "--verify");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).ids).toEqual(c.greedy_ids.slice(0, 3));
  });
});

describe("--max-pixels", () => {
  // The fixture image is 512 x 512 = 262,144 pixels.
  it("one pixel under the image is refused, naming the option to raise", async () => {
    const r = await generate(model, "--max-pixels", "262143");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ImageDecodeError: .*512x512 \(262144 pixels\) exceeds the limit of 262143 pixels/);
    expect(r.err).toMatch(/raise the limit with --max-pixels/);
    const f = await cli([
      "features",
      "--model",
      model,
      "--image",
      imagePath(c.image),
      "--out",
      join(work, "g.safetensors"),
      "--max-pixels",
      "262143",
    ]);
    expect(f.err).toMatch(/exceeds the limit of 262143 pixels/);
  });

  it("exactly the image's pixels is enough", async () => {
    const r = await generate(model, "--max-pixels", "262144", "--max-new-tokens", "2", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).ids).toEqual(c.greedy_ids.slice(0, 2));
  });

  it("0 is not a limit", async () => {
    const r = await generate(model, "--max-pixels", "0");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--max-pixels.*expected a positive integer, got "0"/);
  });
});
