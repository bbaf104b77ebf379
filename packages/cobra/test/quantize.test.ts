import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/index.js";
import { CASES, captureIO, caseRequest, maxAbsDiff, RELEASE_SOURCES } from "./fixture.js";

let dir = "";
let fp32 = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cobra-quantize-"));
  fp32 = join(dir, "fp32");
  await convertRelease(RELEASE_SOURCES, { out: fp32 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("cobra quantize", () => {
  it("gives the LM of a converted folder the dtype convert --dtype gives it, from the folder alone", async () => {
    const viaQuantize = join(dir, "q8-quantized");
    const viaConvert = join(dir, "q8-converted");
    const io = captureIO();
    expect(
      await runCli(["quantize", "--model", fp32, "--dtype", "lm=q8", "--out", viaQuantize], io),
      io.err,
    ).toBe(0);
    await convertRelease(RELEASE_SOURCES, {
      out: viaConvert,
      dtypes: { vision: "fp32", projector: "fp32", lm: "q8" },
    });
    const [a, b] = await Promise.all(
      [viaQuantize, viaConvert].map(async (d) => JSON.parse(await readFile(join(d, "cobra.json"), "utf8"))),
    );
    expect(a.parts.lm.dtype).toBe("q8");
    // Same bytes: the fp32 graph holds the checkpoint's values exactly, so quantizing either gives the same codes.
    expect(a.parts.lm.files).toEqual(b.parts.lm.files);
    expect(a.parts.encoder.files).toEqual(b.parts.encoder.files);
    const models = await Promise.all([Cobra.load(viaQuantize), Cobra.load(fp32)]);
    try {
      const [q, f] = await Promise.all(models.map((m) => m.generate(caseRequest(CASES[0]))));
      expect(q.ids.length).toBeGreaterThan(0);
      const scale = f.prefillLogits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(maxAbsDiff(q.prefillLogits, f.prefillLogits)).toBeLessThan(0.3 * scale);
    } finally {
      await Promise.all(models.map((m) => m.release()));
    }
  });

  it("lm=q4f16 / lm=fp16 leave the parts not named at their dtype (fp16 towers stay fp16), and load with no flag", async () => {
    const towersFp16 = join(dir, "towers-fp16");
    await convertRelease(RELEASE_SOURCES, {
      out: towersFp16,
      dtypes: { vision: "fp16", projector: "fp32", lm: "fp32" },
    });
    const logits: Record<string, Float32Array> = {};
    for (const dtype of ["fp32", "fp16", "q4", "q4f16"]) {
      const out = dtype === "fp32" ? towersFp16 : join(dir, `towers-fp16-lm-${dtype}`);
      if (dtype !== "fp32") {
        const io = captureIO();
        expect(
          await runCli(["quantize", "--model", towersFp16, "--dtype", `lm=${dtype}`, "--out", out], io),
          io.err,
        ).toBe(0);
      }
      const m = JSON.parse(await readFile(join(out, "cobra.json"), "utf8"));
      expect([m.parts.encoder.dtype, m.parts.projector.dtype, m.parts.lm.dtype]).toEqual([
        "fp16",
        "fp32",
        dtype,
      ]);
      const cobra = await Cobra.load(out);
      try {
        logits[dtype] = Float32Array.from((await cobra.generate(caseRequest(CASES[0]))).prefillLogits);
      } finally {
        await cobra.release();
      }
    }
    const scale = logits.fp32.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    const fp16 = maxAbsDiff(logits.fp16, logits.fp32);
    // q4f16 is q4 with float16 scales and activations: it must stay much nearer q4 than q4 is to fp32 (the tiny
    // random LM is too 4-bit sensitive for a bound against fp32 to say much: q4 moves its logits by more than
    // their range; q4f16 vs q4 measured 0.31 against q4 vs fp32 4.3).
    const q4f16 = maxAbsDiff(logits.q4f16, logits.q4);
    const q4 = maxAbsDiff(logits.q4, logits.fp32);
    console.log(
      `prefill logits up to ${scale.toFixed(2)}: fp16 vs fp32 ${fp16.toExponential(2)}, q4f16 vs q4 ${q4f16.toExponential(2)}, q4 vs fp32 ${q4.toExponential(2)}`,
    );
    expect(fp16).toBeGreaterThan(0);
    expect(fp16).toBeLessThan(3e-3 * scale);
    expect(q4f16).toBeLessThan(0.25 * q4);
  });

  it("refuses what it cannot do, and never touches the --model folder or a folder of the user's", async () => {
    const before = await readdir(fp32);
    const mine = join(dir, "mine");
    await mkdir(mine);
    await writeFile(join(mine, "notes.txt"), "keep me");
    for (const [args, message] of [
      [["--dtype", "q8", "--out", join(dir, "x")], /re-quantizes the LM only; the vision is fp32/],
      [["--dtype", "lm=fp32", "--out", join(dir, "x")], /already fp32; nothing to do/],
      [["--dtype", "lm=q4", "--out", fp32], /not the --model folder itself/],
      [["--dtype", "lm=q4", "--out", mine], /exists and is not a converted model/],
      [
        ["--dtype", "lm=q4", "--out", join(dir, "x"), "--model", mine],
        /model manifest \(is --model a folder written/,
      ],
    ] as const) {
      const io = captureIO();
      expect(await runCli(["quantize", "--model", fp32, ...args], io)).toBe(1);
      expect(io.err).toMatch(message);
    }
    const q4 = join(dir, "q4");
    expect(await runCli(["quantize", "--model", fp32, "--dtype", "lm=q4", "--out", q4], captureIO())).toBe(0);
    const io = captureIO();
    expect(await runCli(["quantize", "--model", q4, "--dtype", "lm=q8", "--out", join(dir, "y")], io)).toBe(
      1,
    );
    expect(io.err).toMatch(/quantize from the fp32 conversion/);
    expect(await readdir(fp32)).toEqual(before);
    expect(await readFile(join(mine, "notes.txt"), "utf8")).toBe("keep me");
  });
});
