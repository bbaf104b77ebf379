import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIO } from "../../test/capture-io.js";
import { IMAGE_NAMES, imagePath } from "../../test/fixture.js";
import { runCli } from "../cli/run-cli.js";
import { parsePartDtypes } from "../convert/part-dtypes.js";
import { synthesizeModel } from "../synth/synthesize.js";

/** The keys the issue asks `--json` for: numbers, or null where the model has no such part. */
const REQUIRED = [
  "weight_bytes",
  "bandwidth_gb_s",
  "gemm_gflops",
  "image_encode_ms",
  "prefill_tokens_per_s",
  "prefill_gemm_fraction",
  "decode_tokens_per_s",
  "decode_bandwidth_fraction",
  "ttft_ms",
  "peak_rss_bytes",
  "rss_growth_bytes",
];
/** Small probes: the test checks the report's shape, never a speed. */
const FAST = ["--bandwidth-mib", "16", "--gemm-size", "128", "--new-tokens", "20", "--prompt-tokens", "4"];

let work = "";
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-bench-"));
  await synthesizeModel("test-tiny", { out: join(work, "lm") });
  await synthesizeModel("test-tiny-cobra", { out: join(work, "cobra") });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function bench(args: string[]) {
  const io = captureIO();
  const code = await runCli(["bench", ...args], io);
  return { code, ...io };
}

describe("cobra bench --json", () => {
  it("LM-only model: every required key, image encode null", async () => {
    const r = await bench(["--model", join(work, "lm"), "--json", ...FAST]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    for (const key of REQUIRED) expect(report, key).toHaveProperty(key);
    expect(report.image_encode_ms).toBeNull();
    for (const key of REQUIRED.filter((k) => k !== "image_encode_ms"))
      expect(Number.isFinite(report[key]), `${key} = ${report[key]}`).toBe(true);
    expect(report).toMatchObject({
      kind: "lm",
      synth_preset: "test-tiny",
      dtypes: { vision: null, projector: null, lm: "fp32" },
      decode_tokens: 20,
      prefill_positions: 733,
    });
    expect(report.weight_bytes).toBeGreaterThan(0);
    expect(report.peak_rss_bytes).toBeGreaterThan(0);
  });

  it("whole Cobra: image encode measured, 729 projected rows before the prompt", async () => {
    const r = await bench(["--model", join(work, "cobra"), "--json", ...FAST]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    for (const key of REQUIRED) expect(Number.isFinite(report[key]), `${key} = ${report[key]}`).toBe(true);
    expect(report).toMatchObject({ kind: "cobra", prefix_rows: 729, prompt_tokens: 4 });
    expect(report.dtypes).toEqual({ vision: "fp32", projector: "fp32", lm: "fp32" });
    expect(report.model_weight_bytes).toBeGreaterThan(report.weight_bytes);
  });

  it("prints a readable report without --json; no RSS growth figure when fewer than 17 tokens", async () => {
    const r = await bench(["--model", join(work, "lm"), ...FAST, "--new-tokens", "8"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/decode +8 tokens: .* of the bandwidth limit/);
    expect(r.out).toMatch(/prefill +733 positions .* of the GEMM limit/);
    expect(r.out).toMatch(/growth token 16 -> 8: n\/a/);
  });

  it("reports each part's dtype: a whole Cobra with quantized parts, in JSON and in the text line", async () => {
    const dir = join(work, "cobra-mixed");
    await synthesizeModel("test-tiny-cobra", { out: dir, dtypes: parsePartDtypes("lm=q4,vision=q8") });
    const json = await bench(["--model", dir, "--json", ...FAST, "--new-tokens", "2"]);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out).dtypes).toEqual({ vision: "q8", projector: "fp32", lm: "q4" });
    const text = await bench(["--model", dir, ...FAST, "--new-tokens", "2"]);
    expect(text.out).toMatch(/^model .*; vision q8, projector fp32, lm q4\): LM weights/m);
  });

  describe("bad input: one clear line, non-zero exit", () => {
    it("a folder that is not a model", async () => {
      const dir = join(work, "empty");
      await mkdir(dir);
      const r = await bench(["--model", dir, ...FAST]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(
        /FileNotFoundError: model manifest \(is this a folder written by `cobra convert`\?\) not found/,
      );
    });

    it("a missing folder", async () => {
      const r = await bench(["--model", join(work, "nope"), ...FAST]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/no such model folder/);
    });

    it("--verify, on a whole Cobra and on an LM-only folder, refuses a flipped weight byte before anything is measured", async () => {
      for (const kind of ["cobra", "lm"]) {
        const dir = join(work, `${kind}-flipped`);
        await cp(join(work, kind), dir, { recursive: true });
        const lm = join(dir, "lm.onnx.data");
        const bytes = await readFile(lm);
        bytes[bytes.length >> 1] ^= 0xff;
        await writeFile(lm, bytes);
        const r = await bench(["--model", dir, ...FAST, "--verify"]);
        expect(r.code, kind).toBe(1);
        expect(r.err).toMatch(
          /ModelFormatError: .*lm\.onnx\.data has sha256 [0-9a-f]{64}, cobra\.json lists/,
        );
        expect(r.err).not.toMatch(/bench: machine limits/);
      }
    });

    it("--max-pixels under the size of --image (512x512)", async () => {
      const image = imagePath(IMAGE_NAMES[0]);
      const r = await bench([
        "--model",
        join(work, "cobra"),
        ...FAST,
        "--image",
        image,
        "--max-pixels",
        "262143",
      ]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/512x512 \(262144 pixels\) exceeds the limit of 262143 pixels/);
    });

    it("zero new tokens", async () => {
      const r = await bench(["--model", join(work, "lm"), ...FAST, "--new-tokens", "0"]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/--new-tokens.*expected a positive integer, got "0"/);
    });
  });
});
