import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MambaLM } from "@cobra-ts/mamba-lm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/index.js";
import { CASES, captureIO, caseRequest, maxAbsDiff, RELEASE_SOURCES } from "./fixture.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cobra-convert-dtypes-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("cobra convert --dtype", () => {
  it("writes each part at its dtype, records it in cobra.json, and the model loads with no flag", async () => {
    const fp32 = join(dir, "fp32");
    const mixed = join(dir, "mixed");
    await convertRelease(RELEASE_SOURCES, { out: fp32 });
    const io = captureIO();
    const code = await runCli(
      [
        "convert",
        "--checkpoint",
        RELEASE_SOURCES.checkpoint,
        "--dino",
        RELEASE_SOURCES.dino,
        "--siglip",
        RELEASE_SOURCES.siglip,
        "--llm",
        RELEASE_SOURCES.llm,
        "--out",
        mixed,
        "--dtype",
        "lm=q8,vision=fp16,projector=q8",
      ],
      io,
    );
    expect(code, io.err).toBe(0);
    const manifest = JSON.parse(await readFile(join(mixed, "cobra.json"), "utf8"));
    expect(manifest.parts.encoder.dtype).toBe("fp16");
    expect(manifest.parts.projector).toMatchObject({
      dtype: "q8",
      quantization: { method: "matmul-nbits", blockSize: 32 },
    });
    expect(manifest.parts.lm).toMatchObject({
      dtype: "q8",
      quantization: { method: "matmul-nbits", blockSize: 32 },
    });

    const [a, b] = await Promise.all([Cobra.load(fp32), Cobra.load(mixed)]);
    try {
      const c = CASES[0];
      const [ra, rb] = await Promise.all([a.generate(caseRequest(c)), b.generate(caseRequest(c))]);
      expect(ra.text).toBe(c.greedy_text);
      // A bound against breakage, not a precision figure: q8 weights with level-4 int8 activations in the LM and
      // projector move the tiny random model's logits by ~8% (the LM alone is checked tightly in mamba-lm).
      const drift = maxAbsDiff(ra.prefillLogits, rb.prefillLogits);
      const scale = ra.prefillLogits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      console.log(
        `fixture case ${c.id}: fp32 vs lm=q8,vision=fp16,projector=q8 prefill logits max abs diff ${drift.toExponential(2)} (logits up to ${scale.toFixed(2)}); greedy text ${ra.text === rb.text ? "equal" : "differs"}`,
      );
      expect(drift).toBeLessThan(0.3 * scale);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  it("converting again skips only the same resolved blocks: a folder at another block size is redone", async () => {
    const out = join(dir, "q4-blocks");
    const dtypes = { vision: "fp32", projector: "fp32", lm: "q4" } as const;
    const blocks = async () =>
      JSON.parse(await readFile(join(out, "cobra.json"), "utf8")).parts.lm.quantization;
    expect((await convertRelease(RELEASE_SOURCES, { out, dtypes, blockSize: 32 })).converted).toBe(true);
    expect(await blocks()).toEqual({ method: "matmul-nbits", blockSize: 32 });
    // Without --block-size, q4 means blocks of 128 now: not what the folder holds.
    expect((await convertRelease(RELEASE_SOURCES, { out, dtypes })).converted).toBe(true);
    expect(await blocks()).toEqual({ method: "matmul-nbits", blockSize: 128 });
    expect((await convertRelease(RELEASE_SOURCES, { out, dtypes })).converted).toBe(false);
    expect((await convertRelease(RELEASE_SOURCES, { out, dtypes, blockSize: 128 })).converted).toBe(false);
  });

  it("refuses a dtype name it does not know, and one a part cannot be written as", async () => {
    for (const [spec, message] of [
      ["q5", /unknown dtype "q5"/],
      ["vision=q4f16", /the vision cannot be written as q4f16/],
      ["audio=q8", /"audio=q8" is not <part>=<dtype>/],
    ] as const) {
      const io = captureIO();
      const code = await runCli(
        ["convert", "--release", "cobra+3b", "--out", join(dir, "never"), "--dtype", spec],
        io,
      );
      expect(code, spec).toBe(1);
      expect(io.err, spec).toMatch(message);
    }
  });
});

describe('a half (fp16) or q4f16 LM with scan "kernel"', () => {
  for (const lm of ["fp16", "q4f16"] as const)
    it(`lm=${lm}: the scans in the wasm SIMD kernel give the graph form's answers, prefill logits within 1e-4`, async () => {
      const out = join(dir, `lm-${lm}`);
      await convertRelease(RELEASE_SOURCES, { out, dtypes: { vision: "fp32", projector: "fp32", lm } });
      const [graph, kernel] = await Promise.all([Cobra.load(out), Cobra.load(out, { scan: "kernel" })]);
      try {
        const kernels = [graph, kernel].map((m) => (m.parts.lm as MambaLM).scanKernel);
        expect(kernels).toEqual([null, "wasm-simd"]);
        let worst = 0;
        for (const c of CASES.slice(0, 2)) {
          const [ra, rb] = [await graph.generate(caseRequest(c)), await kernel.generate(caseRequest(c))];
          expect(rb.ids, c.id).toEqual(ra.ids);
          worst = Math.max(worst, maxAbsDiff(ra.prefillLogits, rb.prefillLogits));
        }
        console.log(`lm=${lm}, kernel vs graph form: prefill logits max abs diff ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(1e-4);
      } finally {
        await Promise.all([graph.release(), kernel.release()]);
      }
    });
});
