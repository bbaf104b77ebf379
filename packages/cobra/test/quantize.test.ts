import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { parsePartDtypes } from "../src/convert/part-dtypes.js";
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

/** `cobra quantize --dtype <spec>` of the fp32 folder, run once per spec (tests share the folders). */
const runs = new Map<string, Promise<string>>();
function quantized(spec: string): Promise<string> {
  let run = runs.get(spec);
  if (!run) {
    const out = join(dir, `quantized-${spec}`);
    const io = captureIO();
    run = runCli(["quantize", "--model", fp32, "--dtype", spec, "--out", out], io).then((code) => {
      expect(code, io.err).toBe(0);
      return out;
    });
    runs.set(spec, run);
  }
  return run;
}

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

  it("writes the towers and projector at the dtype convert --dtype gives them, from the folder alone", async () => {
    for (const spec of ["vision=q8,projector=q4", "vision=fp16,projector=fp16", "vision=q4", "q8"]) {
      const viaQuantize = await quantized(spec);
      const viaConvert = join(dir, `converted-${spec}`);
      const parsed = parsePartDtypes(spec);
      // The parts a spec does not name keep their dtype: fp32 in this folder, as convert writes them.
      await convertRelease(RELEASE_SOURCES, { out: viaConvert, dtypes: parsed.dtypes });
      const [q, c, f] = await Promise.all(
        [viaQuantize, viaConvert, fp32].map(async (d) =>
          JSON.parse(await readFile(join(d, "cobra.json"), "utf8")),
        ),
      );
      // Same graphs, same bytes: every part's files (hash and size) and what the manifest records of it.
      for (const slot of ["encoder", "projector", "lm", "tokenizer"])
        expect(q.parts[slot], `${spec} ${slot}`).toEqual(c.parts[slot]);
      expect(q.parts.encoder.dtype).toBe(parsed.dtypes.vision);
      expect(q.parts.projector.dtype).toBe(parsed.dtypes.projector);
      for (const [slot, name] of [
        ["encoder", "vision"],
        ["projector", "projector"],
      ] as const)
        if (parsed.dtypes[name] === "fp32") expect(q.parts[slot], `${spec} ${slot}`).toEqual(f.parts[slot]);
        else if (parsed.dtypes[name] !== "fp16")
          expect(q.parts[slot].quantization).toEqual({
            method: "matmul-nbits",
            blockSize: parsed.dtypes[name] === "q8" ? 32 : 128, // the defaults
          });
      expect(q.source.quantizedFrom).toBe(f.source.fingerprint);
    }
  });

  it("writes a synthesized Cobra's towers and projector as synth --dtype writes them", async () => {
    const cli = async (args: string[]) => {
      const io = captureIO();
      expect(await runCli(args, io), io.err).toBe(0);
    };
    const [synthFp32, synthQ, quantized] = ["synth-fp32", "synth-q", "synth-quantized"].map((n) =>
      join(dir, n),
    );
    const synth = ["synth", "--preset", "test-tiny-cobra", "--seed", "5"];
    await cli([...synth, "--out", synthFp32]);
    await cli([...synth, "--out", synthQ, "--dtype", "vision=q4,projector=q8"]);
    await cli(["quantize", "--model", synthFp32, "--dtype", "vision=q4,projector=q8", "--out", quantized]);
    const [a, b] = await Promise.all(
      [quantized, synthQ].map(async (d) => JSON.parse(await readFile(join(d, "cobra.json"), "utf8"))),
    );
    for (const slot of ["encoder", "projector", "lm"]) expect(a.parts[slot], slot).toEqual(b.parts[slot]);
  });

  it("a folder with quantized towers and projector loads and runs near the fp32 one", async () => {
    const models = await Promise.all([
      Cobra.load(await quantized("q8")),
      Cobra.load(await quantized("vision=q4")),
      Cobra.load(fp32),
    ]);
    try {
      const c = CASES[0];
      const [q8, q4, f] = await Promise.all(models.map((m) => m.generate(caseRequest(c))));
      expect(f.text).toBe(c.greedy_text);
      const scale = f.prefillLogits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      for (const [what, r] of [
        ["q8", q8],
        ["vision=q4", q4],
      ] as const) {
        const drift = maxAbsDiff(r.prefillLogits, f.prefillLogits);
        console.log(
          `fixture case ${c.id}: quantize --dtype ${what} vs fp32 prefill logits max abs diff ${drift.toExponential(2)} (logits up to ${scale.toFixed(2)})`,
        );
        expect(r.ids.length, what).toBeGreaterThan(0);
        // A bound against breakage, as convert-dtypes.test.ts sets it: the tiny random model is not a precision figure.
        expect(drift, what).toBeGreaterThan(0);
        expect(drift, what).toBeLessThan(0.3 * scale);
      }
    } finally {
      await Promise.all(models.map((m) => m.release()));
    }
  });

  it("refuses a quantized tower or projector, a graph its manifest misdescribes, and bad block sizes, writing nothing", async () => {
    const q8 = await quantized("q8");
    const fp16 = await quantized("vision=fp16,projector=fp16");
    // fp32 manifest, q8 graphs: the graphs' metadata says what they hold.
    const lying = join(dir, "lying");
    await cp(fp32, lying, { recursive: true });
    const q8Manifest = JSON.parse(await readFile(join(q8, "cobra.json"), "utf8"));
    const q8Parts = q8Manifest.parts;
    for (const f of [...q8Parts.encoder.files, ...q8Parts.projector.files, ...q8Parts.lm.files])
      await cp(join(q8, f.path), join(lying, f.path));
    const lyingProjector = join(dir, "lying-projector");
    await cp(fp32, lyingProjector, { recursive: true });
    for (const f of q8Manifest.parts.projector.files)
      await cp(join(q8, f.path), join(lyingProjector, f.path));
    const out = join(dir, "never");
    for (const [model, args, message] of [
      [
        q8,
        ["--dtype", "vision=q4"],
        /the vision encoder in .* is already q8; quantize from the fp32 conversion/,
      ],
      [
        fp16,
        ["--dtype", "projector=q8"],
        /the projector in .* is already fp16; quantize from the fp32 conversion/,
      ],
      [q8, ["--dtype", "q8"], /already q8, the projector is already q8, the LM is already q8; nothing to do/],
      [fp32, ["--dtype", "vision=q4f16"], /the vision cannot be written as q4f16/],
      [fp32, ["--dtype", "vision=q5"], /unknown dtype "q5"/],
      [
        fp32,
        ["--dtype", "projector=q4", "--block-size", "24"],
        /block size must be a power of two of at least 16, got 24/,
      ],
      [
        fp32,
        ["--dtype", "vision=fp16", "--block-size", "64"],
        /--block-size 64: no part is written as q8, q4 or q4f16/,
      ],
      [lying, ["--dtype", "vision=q4"], /dino\.onnx: the dino tower graph is stored as q8 .*not fp32/],
      [lying, ["--dtype", "lm=q4"], /lm\.onnx: ".*" should be float32 .*found no float32 initializer/],
      [lyingProjector, ["--dtype", "projector=fp16"], /projector\.onnx: the projector graph is stored as q8/],
    ] as const) {
      const io = captureIO();
      expect(await runCli(["quantize", "--model", model, ...args, "--out", out], io), args.join(" ")).toBe(1);
      expect(io.err, args.join(" ")).toMatch(message);
      await expect(stat(out), args.join(" ")).rejects.toThrow(/ENOENT/);
    }
    // A block size the op takes is written and recorded.
    const b64 = join(dir, "projector-q4-b64");
    const io = captureIO();
    expect(
      await runCli(
        ["quantize", "--model", fp32, "--dtype", "projector=q4", "--block-size", "64", "--out", b64],
        io,
      ),
      io.err,
    ).toBe(0);
    const m = JSON.parse(await readFile(join(b64, "cobra.json"), "utf8"));
    expect(m.parts.projector.quantization).toEqual({ method: "matmul-nbits", blockSize: 64 });
    expect(m.parts.encoder).toEqual(
      JSON.parse(await readFile(join(fp32, "cobra.json"), "utf8")).parts.encoder,
    );
  });

  it("convert --block-size writes what quantize --block-size writes, and both refuse a block size up front", async () => {
    const viaQuantize = join(dir, "b64-quantized");
    const viaConvert = join(dir, "b64-converted");
    const spec = "lm=q4,vision=q8";
    let io = captureIO();
    expect(
      await runCli(
        ["quantize", "--model", fp32, "--dtype", spec, "--block-size", "64", "--out", viaQuantize],
        io,
      ),
      io.err,
    ).toBe(0);
    const release = Object.entries(RELEASE_SOURCES).flatMap(([part, path]) => [`--${part}`, path]);
    io = captureIO();
    expect(
      await runCli(["convert", ...release, "--dtype", spec, "--block-size", "64", "--out", viaConvert], io),
      io.err,
    ).toBe(0);
    const [a, b] = await Promise.all(
      [viaQuantize, viaConvert].map(async (d) => JSON.parse(await readFile(join(d, "cobra.json"), "utf8"))),
    );
    expect(b.parts.encoder.quantization).toEqual({ method: "matmul-nbits", blockSize: 64 });
    for (const slot of ["encoder", "projector", "lm"]) expect(a.parts[slot]).toEqual(b.parts[slot]);
    // Another block size is another conversion, not "already converted".
    io = captureIO();
    expect(await runCli(["convert", ...release, "--dtype", spec, "--out", viaConvert], io), io.err).toBe(0);
    expect(io.err).not.toMatch(/already holds this conversion/);

    const out = join(dir, "never-converted");
    for (const [args, message] of [
      [["--dtype", "q4", "--block-size", "24"], /block size must be a power of two of at least 16, got 24/],
      [["--block-size", "64"], /--block-size 64: no part is written as q8, q4 or q4f16/],
    ] as const) {
      io = captureIO();
      expect(await runCli(["convert", ...release, ...args, "--out", out], io), args.join(" ")).toBe(1);
      expect(io.err, args.join(" ")).toMatch(message);
      await expect(stat(out), args.join(" ")).rejects.toThrow(/ENOENT/);
    }
  });

  it("refuses what it cannot do, and never touches the --model folder or a folder of the user's", async () => {
    const before = await readdir(fp32);
    const mine = join(dir, "mine");
    await mkdir(mine);
    await writeFile(join(mine, "notes.txt"), "keep me");
    for (const [args, message] of [
      [["--dtype", "vision=q8", "--out", mine], /exists and is not a converted model/],
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
