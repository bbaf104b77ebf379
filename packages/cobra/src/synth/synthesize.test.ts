import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectModel } from "@cobra-ts/core";
import { MambaLM } from "@cobra-ts/mamba-lm/node";
import { createRgbImage } from "@cobra-ts/vision-encoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIO } from "../../test/capture-io.js";
import { runCli } from "../cli/run-cli.js";
import { Cobra } from "../runtime/load-node.js";

let work = "";
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-synth-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function synth(args: string[]) {
  const io = captureIO();
  const code = await runCli(["synth", ...args], io);
  return { code, ...io };
}

describe("cobra synth", () => {
  it("writes an LM-only model that MambaLM.load runs to finite logits", async () => {
    const out = join(work, "lm");
    const r = await synth(["--preset", "test-tiny", "--out", out]);
    expect(r.err).toMatch(/wrote test-tiny \(lm/);
    expect(r.code).toBe(0);
    const lm = await MambaLM.load(out);
    try {
      expect(lm.dims).toMatchObject({ nLayer: 2, dModel: 16, dInner: 32, dState: 16, vocabSize: 512 });
      const prefix = { data: new Float32Array(5 * 16).fill(0.5), shape: [1, 5, 16] };
      let { logits, state } = await lm.prefill({ prefixEmbeds: prefix, ids: [1, 2, 3] });
      for (let i = 0; i < 3; i++) ({ logits, state } = await lm.step(7, state));
      expect(logits.data.every(Number.isFinite)).toBe(true);
    } finally {
      await lm.release();
    }
  });

  it("--dtype q4f16 / fp16 (one name: the LM's, for an LM-only preset) writes an LM that loads from its files", async () => {
    const logits: Record<string, Float32Array> = {};
    for (const dtype of ["fp32", "fp16", "q4f16"]) {
      const out = join(work, `lm-${dtype}`);
      const r = await synth(["--preset", "test-tiny", "--out", out, "--dtype", dtype]);
      expect(r.code, r.err).toBe(0);
      const manifest = JSON.parse(await readFile(join(out, "cobra.json"), "utf8"));
      expect(manifest.parts.lm.dtype).toBe(dtype);
      const lm = await MambaLM.load(out);
      try {
        // The embedding rows come from the data file (fp16 rows, or q4f16 codes with fp16 scales).
        logits[dtype] = (await lm.prefill({ ids: [1, 2, 3, 300] })).logits.data;
      } finally {
        await lm.release();
      }
    }
    const scale = logits.fp32.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const off = (d: string) => logits[d].reduce((m, x, i) => Math.max(m, Math.abs(x - logits.fp32[i])), 0);
    expect(off("fp16")).toBeGreaterThan(0);
    expect(off("fp16")).toBeLessThan(3e-3 * scale);
    expect(off("q4f16")).toBeLessThan(0.6 * scale);
  });

  it("--block-size sets the q8 / q4 blocks it writes (64: llama.cpp's Q8_0 / Q4_0 bits per weight), and is refused alone", async () => {
    const out = join(work, "lm-q4-b64");
    let r = await synth(["--preset", "test-tiny", "--out", out, "--dtype", "q4", "--block-size", "64"]);
    expect(r.code, r.err).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, "cobra.json"), "utf8"));
    expect(manifest.parts.lm.quantization).toEqual({ method: "matmul-nbits", blockSize: 64 });
    expect(manifest.parts.lm.config.options.quantization).toMatchObject({
      bits: 4,
      headBits: 8,
      blockSize: 64,
    });
    r = await synth(["--preset", "test-tiny", "--out", join(work, "never"), "--block-size", "64"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--block-size 64: no part is written as q8, q4 or q4f16/);
  });

  it("writes a whole Cobra that Cobra.load checks and generates with", async () => {
    const out = join(work, "cobra");
    const r = await synth(["--preset", "test-tiny-cobra", "--out", out, "--seed", "3"]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, "cobra.json"), "utf8"));
    expect(manifest.parts.encoder.kind).toBe("fused-vit");
    expect(manifest.parts.encoder.config.towers.map((e: { name: string }) => e.name)).toEqual([
      "dino",
      "siglip",
    ]);
    expect(manifest.source).toMatchObject({ synthetic: "test-tiny-cobra", seed: "3" });
    const cobra = await Cobra.load(out, { verify: true });
    try {
      const result = await cobra.generate({
        image: createRgbImage(50, 40, [200, 120, 30]),
        prompt: "Describe the image specifically.",
        maxNewTokens: 4,
      });
      expect(result.ids.length).toBeGreaterThan(0);
      expect(result.ids.length).toBeLessThanOrEqual(4);
      expect(result.prefillLogits.every(Number.isFinite)).toBe(true);
    } finally {
      await cobra.release();
    }
  });

  it("--dtype vision=q8,projector=fp16 writes the towers and the projector at those dtypes, and they load", async () => {
    const out = join(work, "cobra-q");
    const r = await synth([
      "--preset",
      "test-tiny-cobra",
      "--out",
      out,
      "--dtype",
      "vision=q8,projector=fp16",
    ]);
    expect(r.code, r.err).toBe(0);
    const dtypeOf = async (file: string) =>
      inspectModel(await readFile(join(out, file))).metadata["cobra.dtype"];
    expect([
      await dtypeOf("dino.onnx"),
      await dtypeOf("siglip.onnx"),
      await dtypeOf("projector.onnx"),
    ]).toEqual(["q8", "q8", "fp16"]);
    const cobra = await Cobra.load(out, { verify: true });
    try {
      const result = await cobra.generate({
        image: createRgbImage(50, 40, [200, 120, 30]),
        prompt: "Describe the image specifically.",
        maxNewTokens: 2,
      });
      expect(result.prefillLogits.every(Number.isFinite)).toBe(true);
    } finally {
      await cobra.release();
    }
  });

  it("replaces an earlier synthetic model and writes the same bytes for the same seed", async () => {
    const out = join(work, "again");
    expect((await synth(["--preset", "test-tiny", "--out", out])).code).toBe(0);
    const first = await readFile(join(out, "lm.onnx.data"));
    expect((await synth(["--preset", "test-tiny", "--out", out])).code).toBe(0);
    expect((await readFile(join(out, "lm.onnx.data"))).equals(first)).toBe(true);
    expect((await synth(["--preset", "test-tiny", "--out", out, "--seed", "2"])).code).toBe(0);
    expect((await readFile(join(out, "lm.onnx.data"))).equals(first)).toBe(false);
  });

  it("--tokenizer copies a tokenizer instead of writing the byte-level one", async () => {
    const from = join(work, "lm");
    const out = join(work, "with-tokenizer");
    const r = await synth(["--preset", "test-tiny", "--out", out, "--tokenizer", from]);
    expect(r.code).toBe(0);
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(
      await readFile(join(from, "tokenizer.json"), "utf8"),
    );
    const missing = await synth(["--preset", "test-tiny", "--out", join(work, "t2"), "--tokenizer", work]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/tokenizer.json/);
  });

  describe("bad input: one clear line, non-zero exit, nothing written", () => {
    it("unknown preset", async () => {
      const r = await synth(["--preset", "mamba-9b", "--out", join(work, "x")]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/unknown preset "mamba-9b"; known: mamba-130m, .*cobra-3.5b/);
    });

    it("--out is an existing folder that is not a model", async () => {
      const out = join(work, "photos");
      await mkdir(out);
      await writeFile(join(out, "holiday.jpg"), "not a model");
      const r = await synth(["--preset", "test-tiny", "--out", out]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/exists and is not a model folder/);
      expect(await readFile(join(out, "holiday.jpg"), "utf8")).toBe("not a model");
    });

    it("--out is a file", async () => {
      const out = join(work, "a-file");
      await writeFile(out, "x");
      const r = await synth(["--preset", "test-tiny", "--out", out]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/is a file/);
    });

    it("--out holds a converted model: refused without --force", async () => {
      const out = join(work, "converted");
      await mkdir(out);
      await writeFile(join(out, "cobra.json"), "{}");
      const r = await synth(["--preset", "test-tiny", "--out", out]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/holds a converted model; pass --force/);
      expect((await synth(["--preset", "test-tiny", "--out", out, "--force"])).code).toBe(0);
    });

    it("--dtype naming a part an LM-only preset does not write (it used to be ignored)", async () => {
      const out = join(work, "lm-vision-q4");
      const r = await synth(["--preset", "test-tiny", "--out", out, "--dtype", "lm=q8,vision=q4"]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/the preset test-tiny \(an LM only\) has no vision to write .*drop vision=q4/);
      await expect(readFile(join(out, "cobra.json"))).rejects.toThrow(/ENOENT/);
    });

    it("missing --preset", async () => {
      const r = await synth(["--out", join(work, "y")]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/--preset/);
    });
  });
});
