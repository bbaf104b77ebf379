// The built CLI in real processes: what only a process shows (exit codes, signals, argv, stdin, the environment).
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCAN_REGIONS_METADATA } from "@cobra-ts/mamba-lm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { BIN, type Exit, runCobra } from "./cli-process.js";
import { CASES, imagePath, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  if (!(await stat(BIN).catch(() => null)))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
  work = await mkdtemp(join(tmpdir(), "cobra-process-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const cobra = (args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runCobra(args, options);

/** The contract for bad input: exit 1 (not a signal), one line on stderr naming the typed error. */
function expectTypedError(exit: Exit, pattern: RegExp): void {
  expect({ code: exit.code, signal: exit.signal }, exit.stderr.slice(0, 2000)).toEqual({
    code: 1,
    signal: null,
  });
  expect(exit.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(exit.stderr).toMatch(pattern);
}

describe("long arguments end in the clean error, never a crash", () => {
  const image = () => imagePath(CASES[0].image);

  it("a 50,000-character --prompt is refused by its token count", async () => {
    const prompt = "a".repeat(50_000);
    expectTypedError(
      await cobra(["generate", "--model", model, "--image", image(), "--prompt", prompt]),
      // the library's promptOverflow option is no advice for a command line
      /^cobra: PromptTooLongError: the prompt is \d+ tokens, over maxPromptLength 2048 \(Cobra's llm_max_length\); shorten it\n$/,
    );
  });

  it("a 50,000-character --image path is refused by name, and the message is clipped", async () => {
    const exit = await cobra(["generate", "--model", model, "--image", "i".repeat(50_000), "--prompt", "hi"]);
    expectTypedError(exit, /^cobra: ImageDecodeError: i+\[\.\.\. \d+ characters left out.*ENAMETOOLONG/);
    expect(exit.stderr.length).toBeLessThan(500);
  });

  it("even with onnxruntime's telemetry asked for in the environment", async () => {
    const env = { ...process.env, ORT_DISABLE_TELEMETRY: "0" };
    expectTypedError(
      await cobra(["generate", "--model", model, "--image", image(), "--prompt", "b".repeat(50_000)], {
        env,
      }),
      /PromptTooLongError: the prompt is \d+ tokens/,
    );
  });
});

describe("--prompt-file", () => {
  /** greedy ids of a fixture case, as the reference computed them. */
  async function expectAnswer(c: (typeof CASES)[number], args: string[], stdin?: string) {
    const n = 4;
    const exit = await cobra(
      [
        "generate",
        "--model",
        model,
        "--image",
        imagePath(c.image),
        ...args,
        "--max-new-tokens",
        `${n}`,
        "--json",
      ],
      { stdin },
    );
    expect(exit.code, exit.stderr).toBe(0);
    const out = JSON.parse(exit.stdout);
    expect(out.prompt_ids).toEqual(c.input_ids);
    expect(out.ids).toEqual(c.greedy_ids.slice(0, n));
  }
  const single = CASES.filter((c) => c.turns.length === 1);
  const multiline = single.find((c) => c.user_message.includes("\n"))!;
  const unicode = single.find((c) => /[^ -~\s]/.test(c.user_message))!;

  it("reads a multi-line prompt from a file, exactly as --prompt gives it", async () => {
    const file = join(work, "prompt.txt");
    await writeFile(file, multiline.user_message);
    await expectAnswer(multiline, ["--prompt-file", file]);
    await expectAnswer(multiline, ["--prompt", multiline.user_message]);
  });

  it("reads UTF-8 from stdin with -", () =>
    expectAnswer(unicode, ["--prompt-file", "-"], unicode.user_message));

  it("an empty stdin is refused", async () =>
    expectTypedError(
      await cobra(["generate", "--model", model, "--image", imagePath(unicode.image), "--prompt-file", "-"]),
      /InvalidArgumentError: --prompt-file - \(stdin\) is empty/,
    ));
});

describe("--backend webgpu", () => {
  it("runs, or ends in a typed error that names the backend that works (never onnxruntime's trace)", async () => {
    const c = CASES[0];
    const exit = await cobra(
      ["generate", "--model", model, "--image", imagePath(c.image), "--prompt", "hi"].concat([
        "--max-new-tokens",
        "1",
        "--backend",
        "webgpu",
      ]),
    );
    if (exit.code === 0) return; // this machine has a GPU adapter
    expect(exit.code).toBe(1);
    // Dawn prints its own warnings first; the CLI's line is the last one.
    const last = exit.stderr.trimEnd().split("\n").at(-1);
    expect(last).toMatch(/^cobra: BackendUnavailableError: .*use the cpu backend/);
  });
});

/** A single-turn fixture case, and `generate` on it with more options. */
const oneTurn = CASES.find((x) => x.turns.length === 1)!;
const generateOneTurn = (dir: string, ...extra: string[]) =>
  cobra([
    "generate",
    "--model",
    dir,
    "--image",
    imagePath(oneTurn.image),
    "--prompt",
    oneTurn.user_message,
    ...extra,
  ]);

/** `generate` with `extra` options answers the single-turn case as the oracle: every greedy id, the text. */
async function expectOracleAnswer(...extra: string[]): Promise<void> {
  const exit = await generateOneTurn(
    model,
    "--max-new-tokens",
    `${oneTurn.max_new_tokens}`,
    "--json",
    ...extra,
  );
  expect(exit.code, exit.stderr).toBe(0);
  const out = JSON.parse(exit.stdout);
  expect(out.ids).toEqual(oneTurn.greedy_ids);
  expect(out.text).toBe(oneTurn.greedy_text);
}

describe("--backend wasm", () => {
  it("runs every part on onnxruntime-web and gives the oracle's greedy answer", () =>
    expectOracleAnswer("--backend", "wasm"));

  it("an unknown backend is refused with the choices", async () => {
    const exit = await cobra(["generate", "--model", model, "--prompt", "hi", "--backend", "gpu"]);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/Allowed choices are cpu, wasm, webgpu/);
  });
});

describe("--scan", () => {
  it("kernel runs the LM's scans in the WASM SIMD kernel and gives the oracle's greedy answer", () =>
    expectOracleAnswer("--scan", "kernel"));

  it("reaches the LM's loader over cobra.json's choice, both ways", async () => {
    // A copy whose LM graph no longer records where its scans are: the kernel form refuses it, the graph form
    // runs it. The key is renamed in place (same length), so the file keeps its size and the protobuf stays valid.
    const dir = join(work, "no-scan-regions");
    await cp(model, dir, { recursive: true });
    const graph = join(dir, "lm.onnx");
    const bytes = await readFile(graph);
    const key = Buffer.from(SCAN_REGIONS_METADATA);
    const at = bytes.indexOf(key);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(bytes.indexOf(key, at + 1)).toBe(-1);
    bytes[at + key.length - 1] ^= 0x20;
    await writeFile(graph, bytes);
    const refused = /^cobra: ModelFormatError: .*does not record where its scans are.*convert it again/;

    // cobra.json says "graph" (as converted): --scan kernel overrides it.
    expectTypedError(await generateOneTurn(dir, "--max-new-tokens", "1", "--scan", "kernel"), refused);
    // cobra.json says "kernel": it is followed without the option, and --scan graph overrides it.
    const manifestPath = join(dir, "cobra.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    expect(manifest.parts.lm.config.scan).toBe("graph");
    manifest.parts.lm.config.scan = "kernel";
    await writeFile(manifestPath, JSON.stringify(manifest));
    expectTypedError(await generateOneTurn(dir, "--max-new-tokens", "1"), refused);
    const exit = await generateOneTurn(dir, "--max-new-tokens", "3", "--scan", "graph", "--json");
    expect(exit.code, exit.stderr).toBe(0);
    expect(JSON.parse(exit.stdout).ids).toEqual(oneTurn.greedy_ids.slice(0, 3));
  });

  it("an unknown form is refused with the choices, before the model is read", async () => {
    const exit = await generateOneTurn(join(work, "absent"), "--scan", "wgsl");
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
    expect(exit.stderr).toBe(
      "error: option '--scan <form>' argument 'wgsl' is invalid. Allowed choices are graph, kernel.\n",
    );
  });
});

describe("cobra --version", () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, "../package.json"), "utf8"));
    const exit = await cobra(["--version"]);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(`${version}\n`);
  });
});

describe("a reader that goes away (cobra ... | head)", () => {
  it("ends quietly with exit 0 when stdout is closed mid-answer", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "chat", "--model", model, "--image", imagePath(CASES[0].image), "--max-new-tokens", "40"],
      { env: process.env },
    );
    // Several answers, written token by token over seconds: the reader leaves after the first bytes.
    child.stdin.end("What is it?\nWhat colour?\nWhere is it?\nWhy?\n");
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
      child.once("close", (c, s) => done([c, s])),
    );
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect([code, signal]).toEqual([0, null]);
  });
});
