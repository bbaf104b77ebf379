/**
 * The feature drift of fp16 / q8 / q4 towers and projector at the released shapes (DINOv2-L/14-reg4 to block 22,
 * SigLIP-SO400M/14 to block 25, 384 px; the fused-gelu-mlp projector), with random weights, on a fixture image.
 * Minutes of CPU and ~2 GB of disk a model, so it runs only when asked:
 *   COBRA_MEASURE_REAL_SIZE=1 npx vitest run src/synth/real-size-drift.test.ts
 * Random weights have none of a trained ViT's outlier channels: these figures bound the kernels' and the
 * rounding's share of the error at real widths, not a trained model's drift.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { f32, type LinearQuantization, linearQuantizationFor } from "@cobra-ts/core";
import { SafetensorsFile } from "@cobra-ts/core/node";
import { checkQuantizationDrift, type DriftBound, fixtureSet } from "@cobra-ts/core/testing";
import { OnnxProjector, projectorSpecFromArchSpecifier } from "@cobra-ts/projector";
import { writeProjectorModel } from "@cobra-ts/projector/node";
import { concatFeatures, VitEncoder } from "@cobra-ts/vision-encoder";
import { writeVitModel } from "@cobra-ts/vision-encoder/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CobraPreset } from "./presets.js";
import { SYNTH_PRESETS } from "./presets.js";
import { syntheticProjectorTensors } from "./projector-tensors.js";
import { towerConfigs } from "./synthesize.js";
import { SyntheticWeightSource } from "./synthetic-source.js";
import { syntheticVitTensors } from "./vit-tensors.js";

const PRESET = SYNTH_PRESETS["cobra-3.5b"] as CobraPreset;
const IMAGE = "rocket"; // a photo the fixture set stores preprocessed pixels for
/** dtype, accuracy level, block size (the matmul-nbits dtypes'). */
const RUNS: [string, 0 | 4, number][] = [
  ["fp16", 0, 32],
  ["q8", 0, 32],
  ["q8", 4, 32],
  ["q8", 4, 64],
  ["q8", 4, 128],
  ["q4", 0, 32],
  ["q4", 4, 32],
  ["q4", 4, 128],
];
/** Loose bounds: this measures; the exactness checks are the fixture tests'. */
const BOUND: Record<string, DriftBound> = {
  fp16: { relL2: 1e-2, minCosine: 0.999 },
  q8: { relL2: 0.1, minCosine: 0.99 },
  q4: { relL2: 0.6, minCosine: 0.5 },
};

const MINUTES = 40 * 60_000;

const quantization = (dtype: string, level: 0 | 4, blockSize: number) =>
  linearQuantizationFor(dtype, { accuracyLevel: level, blockSize });
const runName = (dtype: string, level: 0 | 4, blockSize: number) =>
  dtype === "fp16" ? "fp16" : `${dtype} level ${level} block ${blockSize}`;

describe.runIf(process.env.COBRA_MEASURE_REAL_SIZE)("real-size towers and projector, random weights", () => {
  const towers = towerConfigs(PRESET);
  let dir = "";
  const pixels = new Map<string, Float32Array>();
  const fp32 = new Map<string, Float32Array>();
  const table: string[] = [];

  /** Writes the tower at `q` to disk, encodes the image twice (the second timed), and removes the files. */
  async function encode(name: string, q: LinearQuantization | null) {
    const { config } = towers.find((t) => t.name === name)!;
    const source = new SyntheticWeightSource(`synthetic ${name}`, syntheticVitTensors(config), 1);
    const folder = await mkdtemp(join(dir, `${name}-`));
    try {
      const written = await writeVitModel(folder, `${name}.onnx`, config, source, { quantization: q });
      const encoder = await VitEncoder.create(written.model, config, name, { threads: 2 });
      try {
        await encoder.encode([pixels.get(name)!]);
        const t0 = performance.now();
        const out = await encoder.encode([pixels.get(name)!]);
        return { features: out, seconds: (performance.now() - t0) / 1000 };
      } finally {
        await encoder.release();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-real-size-"));
    const expected = await SafetensorsFile.open(join(fixtureSet(), "expected/tensors.safetensors"));
    try {
      for (const { name, config } of towers) {
        const u8 = (await expected.read(`pixels/${IMAGE}/${name}`)).data as Uint8Array;
        const { mean, std } = config.data;
        const plane = u8.length / 3;
        pixels.set(
          name,
          Float32Array.from(u8, (v, i) => {
            const c = Math.floor(i / plane);
            return (v / 255 - mean[c]) / std[c];
          }),
        );
      }
    } finally {
      await expected.close();
    }
  });

  afterAll(async () => {
    console.log(["real-size drift vs fp32 (random weights, one image)", ...table].join("\n"));
    await rm(dir, { recursive: true, force: true });
  });

  for (const name of ["dino", "siglip"])
    it(
      `${name}: fp32, then each dtype's drift`,
      async () => {
        const { features, seconds } = await encode(name, null);
        fp32.set(name, features.data);
        table.push(`${name} fp32: encode ${seconds.toFixed(2)} s`);
        const dim = features.shape[2];
        for (const [dtype, level, block] of RUNS) {
          const run = await encode(name, quantization(dtype, level, block));
          const line = checkQuantizationDrift(
            [run.features.data],
            null,
            [features.data],
            dim,
            level,
            BOUND[dtype],
          );
          table.push(`${name} ${runName(dtype, level, block)}: ${line}, encode ${run.seconds.toFixed(2)} s`);
        }
        expect(table.length).toBeGreaterThan(RUNS.length);
      },
      MINUTES,
    );

  it(
    "projector: each dtype's drift on the fp32 towers' features",
    async () => {
      const dino = fp32.get("dino");
      const siglip = fp32.get("siglip");
      expect(dino && siglip, "run after the towers").toBeTruthy();
      const [a, b] = towers.map((t) => t.config.embedDim);
      const n = towers[0].config.numPatches;
      const fused = concatFeatures([f32([1, n, a], dino!), f32([1, n, b], siglip!)]);
      const variant = projectorSpecFromArchSpecifier(PRESET.archSpecifier).variant;
      const dims = { visionDim: a + b, llmDim: 2560, numPatches: n };
      const project = async (q: LinearQuantization | null) => {
        const source = new SyntheticWeightSource(
          "synthetic projector",
          syntheticProjectorTensors(variant, dims),
          1,
        );
        const folder = await mkdtemp(join(dir, "projector-"));
        try {
          const written = await writeProjectorModel(folder, variant, source, { dims, quantization: q });
          const projector = await OnnxProjector.load(written.modelPath, { threads: 2 });
          try {
            return (await projector.project(fused)).data;
          } finally {
            await projector.release();
          }
        } finally {
          await rm(folder, { recursive: true, force: true });
        }
      };
      const ref = await project(null);
      for (const [dtype, level, block] of RUNS) {
        const got = await project(quantization(dtype, level, block));
        const line = checkQuantizationDrift([got], null, [ref], dims.llmDim, level, BOUND[dtype]);
        table.push(`projector ${runName(dtype, level, block)}: ${line}`);
      }
    },
    MINUTES,
  );
});
