import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import { CASES, captureIO, IMAGE_NAMES, imagePath, RELEASE, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-bad-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Runs the CLI in-process and checks the contract for bad input: non-zero, exactly one line on stderr. */
async function expectOneLineError(argv: string[], pattern: RegExp): Promise<string> {
  const io = captureIO();
  const code = await runCli(argv, io);
  expect(code).not.toBe(0);
  expect(io.err.trimEnd().split("\n")).toHaveLength(1);
  expect(io.err).toMatch(pattern);
  expect(io.err).not.toMatch(/\n\s+at /);
  return io.err;
}

const base = () => ["generate", "--model", model, "--image", imagePath(IMAGE_NAMES[0]), "--prompt", "hi"];

describe("CLI bad input: non-zero exit, one line on stderr, no stack trace", () => {
  it("a nonexistent model folder", () =>
    expectOneLineError(
      ["generate", "--model", join(work, "nope"), "--image", imagePath(IMAGE_NAMES[0]), "--prompt", "x"],
      /model manifest.*not found/,
    ));
  it("a nonexistent image", () =>
    expectOneLineError(
      ["generate", "--model", model, "--image", join(work, "nope.png"), "--prompt", "x"],
      /nope\.png/,
    ));
  it("an image that is not an image", async () => {
    const fake = join(work, "fake.png");
    await writeFile(fake, "this is text, not a PNG");
    await expectOneLineError(
      ["generate", "--model", model, "--image", fake, "--prompt", "x"],
      /ImageDecodeError/,
    );
  });
  it("--max-new-tokens -1", () =>
    expectOneLineError([...base(), "--max-new-tokens", "-1"], /max-new-tokens/));
  it("--max-new-tokens abc", () =>
    expectOneLineError([...base(), "--max-new-tokens", "abc"], /non-negative integer/));
  it("two prompt kinds at once", () =>
    expectOneLineError([...base(), "--raw-prompt", "x"], /exactly one of/));
  it("an unknown command", () => expectOneLineError(["frobnicate"], /unknown command/));
  it("serve with a --max-tokens given over its --max-tokens-limit, before listening", async () => {
    await expectOneLineError(
      ["serve", "--model", model, "--port", "0", "--max-tokens", "5000"],
      /^cobra: InvalidArgumentError: --max-tokens 5000 is over --max-tokens-limit 4096/,
    );
    await expectOneLineError(
      ["serve", "--model", model, "--port", "0", "--max-tokens", "100", "--max-tokens-limit", "64"],
      /^cobra: InvalidArgumentError: --max-tokens 100 is over --max-tokens-limit 64/,
    );
  });
  it("a file given as the model folder", () =>
    expectOneLineError(
      [
        "generate",
        "--model",
        imagePath(IMAGE_NAMES[0]),
        "--image",
        imagePath(IMAGE_NAMES[0]),
        "--prompt",
        "x",
      ],
      /InvalidArgumentError: .* is a file; give the folder written by `cobra convert`/,
    ));
  it("a path the file system refuses (a 50,000-character --out) is a FileSystemError", async () => {
    const out = join(work, `${"o".repeat(50_000)}.safetensors`);
    const features = ["features", "--model", model, "--image", imagePath(IMAGE_NAMES[0]), "--out", out];
    await expectOneLineError(features, /^cobra: FileSystemError: ENAMETOOLONG: name too long/);
    const convert = ["convert", "--checkpoint", RELEASE_SOURCES.checkpoint, "--llm", RELEASE_SOURCES.llm];
    await expectOneLineError([...convert, "--out", out], /^cobra: FileSystemError: ENAMETOOLONG/);
  });
  it("--max-pixels 1e9 is not an integer", () =>
    expectOneLineError([...base(), "--max-pixels", "1e9"], /expected a positive integer, got "1e9"/));
  it("--prompt-file that does not exist", () =>
    expectOneLineError(
      [
        "generate",
        "--model",
        model,
        "--image",
        imagePath(IMAGE_NAMES[0]),
        "--prompt-file",
        join(work, "no.txt"),
      ],
      /FileNotFoundError: --prompt-file not found: .*no\.txt/,
    ));
  it("--prompt-file that is a folder", () =>
    expectOneLineError(
      ["generate", "--model", model, "--image", imagePath(IMAGE_NAMES[0]), "--prompt-file", work],
      /InvalidArgumentError: --prompt-file .*: cannot read it \(EISDIR\)/,
    ));
  it("--prompt-file that is not UTF-8 text", async () => {
    const binary = join(work, "binary.txt");
    await writeFile(binary, Buffer.from([0x57, 0x68, 0x61, 0x74, 0xff, 0xfe, 0x3f]));
    await expectOneLineError(
      ["generate", "--model", model, "--image", imagePath(IMAGE_NAMES[0]), "--prompt-file", binary],
      /InvalidArgumentError: --prompt-file .*binary\.txt: not UTF-8 text \(7 bytes\)/,
    );
  });
  it("--prompt and --prompt-file together", () =>
    expectOneLineError([...base(), "--prompt-file", "-"], /exactly one of --prompt, --prompt-file/));
  it("an option value of 50,000 characters is clipped in commander's message", async () => {
    const err = await expectOneLineError([...base(), "--max-new-tokens", "9".repeat(50_000)], /non-negative/);
    expect(err).toMatch(/\d+ characters left out/);
    expect(err.length).toBeLessThan(800);
  });
  it("a model folder from another format version", async () => {
    const other = join(work, "v0");
    await cp(model, other, { recursive: true });
    const manifest = JSON.parse(await readFile(join(other, "cobra.json"), "utf8"));
    await writeFile(join(other, "cobra.json"), JSON.stringify({ ...manifest, formatVersion: 0 }));
    await expectOneLineError(
      ["generate", "--model", other, "--image", imagePath(IMAGE_NAMES[0]), "--prompt", "x"],
      /is format 0, written by an older cobra-ts; .*Write the folder again: npx cobra convert --release cobra\+3b --out /,
    );
  });
  it("a truncated model file is caught from the manifest before onnxruntime opens it", async () => {
    const cut = join(work, "cut");
    await cp(model, cut, { recursive: true });
    const data = join(cut, "lm.onnx.data");
    await writeFile(data, (await readFile(data)).subarray(0, 1000));
    await expectOneLineError(
      ["generate", "--model", cut, "--image", imagePath(IMAGE_NAMES[0]), "--prompt", "x"],
      /lm\.onnx\.data has 1000 bytes, cobra\.json lists \d+: it is truncated/,
    );
  });
  it("a prompt over llm_max_length is refused, naming the limit", async () => {
    const long = "word ".repeat(3000);
    await expectOneLineError(
      ["generate", "--model", model, "--image", imagePath(IMAGE_NAMES[0]), "--prompt", long],
      /2048/,
    );
  });
  it("--verbose adds the stack trace", async () => {
    const io = captureIO();
    expect(
      await runCli(
        ["--verbose", "generate", "--model", join(work, "nope"), "--image", "x.png", "--prompt", "x"],
        io,
      ),
    ).not.toBe(0);
    expect(io.err).toMatch(/\n\s+at /);
  });

  it("the built bin behaves the same in a real process", async () => {
    const bin = join(import.meta.dirname, "../dist/cli.js");
    if (!(await stat(bin).catch(() => null)))
      throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
    const run = promisify(execFile);
    const err = await run(process.execPath, [bin, ...base(), "--max-new-tokens", "-1"]).catch((e) => e);
    expect(err.code).not.toBe(0);
    expect(err.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("cobra convert (built bin, real process)", () => {
  it("reports the peak RSS of the conversion", async () => {
    const bin = join(import.meta.dirname, "../dist/cli.js");
    const out = join(work, "bin-converted");
    const args = ["convert", "--checkpoint", RELEASE_SOURCES.checkpoint, "--dino", RELEASE_SOURCES.dino];
    const { stderr } = await promisify(execFile)(process.execPath, [
      bin,
      ...args,
      "--siglip",
      RELEASE_SOURCES.siglip,
      "--llm",
      RELEASE_SOURCES.llm,
      "--out",
      out,
    ]);
    const peak = /peak RSS (\d+) MB/.exec(stderr);
    expect(peak, stderr).not.toBeNull();
    console.log(`fixture conversion: ${stderr.trim()}`);
    expect(Number(peak![1])).toBeGreaterThan(0);
  });
});

describe("conversion failures leave no output folder", () => {
  async function releaseCopy(name: string): Promise<typeof RELEASE_SOURCES> {
    const dir = join(work, name);
    await cp(RELEASE, dir, { recursive: true });
    return {
      checkpoint: join(dir, "cobra"),
      dino: join(dir, "dino"),
      siglip: join(dir, "siglip"),
      llm: join(dir, "llm"),
    };
  }
  async function expectNothingLeft(out: string) {
    expect(await stat(out).catch(() => null)).toBeNull();
    const leftovers = (await readdir(work)).filter((n) => n.includes(".tmp-"));
    expect(leftovers).toEqual([]);
  }

  it("a corrupted tensor (a storage cut short inside the checkpoint)", async () => {
    const src = await releaseCopy("corrupt");
    const ckpt = join(src.checkpoint, "checkpoints/latest-checkpoint.pt");
    const bytes = await readFile(ckpt);
    // Drop the tail of the zip: the central directory is gone, the file is no longer a readable checkpoint.
    await writeFile(ckpt, bytes.subarray(0, bytes.length - 5000));
    const out = join(work, "out-corrupt");
    await expect(convertRelease(src, { out })).rejects.toThrow(/latest-checkpoint\.pt/);
    await expectNothingLeft(out);
  });

  it("a tampered tensor shape in the vision weights", async () => {
    const src = await releaseCopy("tampered");
    const file = join(src.dino!, "model.safetensors");
    const bytes = Buffer.from(await readFile(file));
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLen).toString("utf8");
    // Same byte count, wrong shape: [hidden, embed] -> [embed, hidden] for the first MLP weight.
    const tampered = header.replace(
      /("blocks\.0\.mlp\.fc1\.weight":\{[^}]*"shape":\[)(\d+),(\d+)\]/,
      (_, head, rows, cols) => `${head}${cols},${rows}]`,
    );
    expect(tampered).not.toBe(header);
    bytes.write(tampered, 8, "utf8");
    await writeFile(file, bytes);
    const out = join(work, "out-tampered");
    await expect(convertRelease(src, { out })).rejects.toThrow(/blocks\.0\.mlp\.fc1\.weight/);
    await expectNothingLeft(out);
  });

  it("a missing file", async () => {
    const src = await releaseCopy("missing");
    await rm(join(src.llm, "tokenizer.json"));
    const out = join(work, "out-missing");
    await expect(convertRelease(src, { out })).rejects.toThrow(/tokenizer\.json/);
    await expectNothingLeft(out);
  });

  it("converting twice is a no-op the second time, and --force redoes it", async () => {
    const again = await convertRelease(RELEASE_SOURCES, { out: model });
    expect(again.converted).toBe(false);
    const forced = await convertRelease(RELEASE_SOURCES, { out: model, force: true });
    expect(forced.converted).toBe(true);
    const cobra = await Cobra.load(model, { verify: true });
    const c = CASES[0];
    const r = await cobra.generate({ image: imagePath(c.image), prompt: c.user_message, maxNewTokens: 3 });
    expect(r.ids).toEqual(c.greedy_ids.slice(0, 3));
    await cobra.release();
  });
});
