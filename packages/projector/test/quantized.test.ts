import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { f32, inspectModel, type LinearQuantization, linearQuantizationFor } from "@cobra-ts/core";
import { openWeights, SafetensorsFile, type WeightSource, withPrefix } from "@cobra-ts/core/node";
import {
  checkQuantizationDrift,
  type DriftBound,
  drift,
  fixtureSet,
  weightsAsStored,
} from "@cobra-ts/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectedProjectorTensors,
  OnnxProjector,
  type ProjectorDims,
  type ProjectorVariant,
  projectorModelBytes,
  projectorSpecFromArchSpecifier,
} from "../src/index.js";
import { writeProjectorModel } from "../src/node.js";
import { fusedFeatures } from "./fixture-features.js";
import { concatFloat32, memoryWeights, randomWeights } from "./memory-weights.js";

const FIXTURE = fixtureSet();
const DTYPES = ["fp16", "q8", "q4"] as const;
/** The weights each dtype stores reduced: the Linear weights (2-D), and at fp16 the LDP's depthwise conv too. */
const storedReduced = (dtype: string) => (key: string) =>
  /^projector\.\d+\.weight$/.test(key) || (dtype === "fp16" && key.endsWith(".peg.0.weight"));

async function project(
  variant: ProjectorVariant,
  weights: WeightSource,
  quantization: LinearQuantization | null,
  features: Float32Array,
  dims?: ProjectorDims,
): Promise<Float32Array> {
  const projector = await OnnxProjector.load(
    await projectorModelBytes(variant, weights, dims, { quantization }),
    { threads: 2 },
  );
  try {
    const batch = features.length / (projector.numPatches * projector.visionDim);
    const input = f32([batch, projector.numPatches, projector.visionDim], features);
    return (await projector.project(input)).data;
  } finally {
    await projector.release();
  }
}

/**
 * Drift bounds on cobra-tiny's projector (fused-gelu-mlp 56 -> 224 -> 16 -> 16, random weights), about 2x what
 * was measured (the printed table) in error and in 1 - cosine (a 16-wide output token: cosines are coarse).
 */
const BOUND: Record<string, DriftBound> = {
  "fp16/0": { relL2: 1e-3, minCosine: 0.99999 },
  "q8/0": { relL2: 2e-2, minCosine: 0.997 },
  "q8/4": { relL2: 3.5e-2, minCosine: 0.992 },
  "q4/0": { relL2: 0.3, minCosine: 0.55 },
  "q4/4": { relL2: 0.3, minCosine: 0.55 },
};

describe("cobra-tiny's projector with fp16 / q8 / q4 weights, on the fixture images' features", () => {
  let checkpoint: WeightSource;
  let weights: WeightSource;
  let variant: ProjectorVariant;
  /** All images' fused features as one batch, and their fp32 projections. */
  let features: Float32Array;
  let fp32: Float32Array;
  let llmDim = 0;
  const table: string[] = [];

  beforeAll(async () => {
    const config = JSON.parse(await readFile(join(FIXTURE, "release/cobra/config.json"), "utf8"));
    variant = projectorSpecFromArchSpecifier(config.model.arch_specifier).variant;
    checkpoint = await openWeights(join(FIXTURE, "release/cobra/checkpoints/latest-checkpoint.pt"));
    weights = withPrefix(checkpoint, "model.projector.");
    const expected = await SafetensorsFile.open(join(FIXTURE, "expected/tensors.safetensors"));
    try {
      const manifest = JSON.parse(await readFile(join(FIXTURE, "expected/manifest.json"), "utf8"));
      const images = (manifest.images as { name: string }[]).map((i) => i.name);
      features = concatFloat32(await Promise.all(images.map((image) => fusedFeatures(expected, image))));
      llmDim = expected.info(`projected/${images[0]}`).shape[2];
    } finally {
      await expected.close();
    }
    fp32 = await project(variant, weights, null, features);
  });

  afterAll(async () => {
    if (table.length > 0)
      console.log(
        [
          "projector output drift vs fp32 over every image (dtype level: max abs, rel L2, min token cosine)",
          ...table,
        ].join("\n"),
      );
    await checkpoint?.close();
  });

  for (const dtype of DTYPES)
    for (const level of dtype === "fp16" ? [0] : [0, 4])
      it(`${dtype}, accuracy level ${level}: the fp32 graph on the weights as stored, and the drift from fp32`, async () => {
        const q = linearQuantizationFor(dtype, { accuracyLevel: level as 0 | 4 })!;
        const got = await project(variant, weights, q, features);
        const asStored = await project(
          variant,
          await weightsAsStored(weights, storedReduced(dtype), q),
          null,
          features,
        );
        const line = checkQuantizationDrift(
          [got],
          [asStored],
          [fp32],
          llmDim,
          level,
          BOUND[`${dtype}/${level}`],
        );
        table.push(`${variant} ${dtype} level ${level}: ${line}`);
      });
});

describe("fused-ldpnet (every layer kind) with reduced weights, random weights", () => {
  // visionDim 40 and llmDim 24 are not whole blocks of 32: MatMulNBits pads K.
  const dims = { visionDim: 40, llmDim: 24, numPatches: 36 };
  const tensors = randomWeights(expectedProjectorTensors("fused-ldpnet", dims), 5);
  const features = concatFloat32(
    [0, 1].map((i) => randomWeights([{ key: "x", shape: [36, 40] }], 9 + i).x.data),
  );
  let dir = "";
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const dtype of DTYPES)
    it(`${dtype}: equals the fp32 graph on the weights as stored (accuracy level 0)`, async () => {
      const q = linearQuantizationFor(dtype, { accuracyLevel: 0 })!;
      const got = await project("fused-ldpnet", memoryWeights(tensors), q, features, dims);
      const stored = await weightsAsStored(memoryWeights(tensors), storedReduced(dtype), q);
      const want = await project("fused-ldpnet", stored, null, features, dims);
      expect(drift(got, want, dims.llmDim).relL2).toBeLessThan(1e-6);
      expect(
        drift(got, await project("fused-ldpnet", memoryWeights(tensors), null, features, dims), dims.llmDim)
          .relL2,
      ).toBeGreaterThan(0);
    });

  it("writeProjectorModel records the dtype and stores the reduced initializers", async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-projector-q-"));
    for (const dtype of DTYPES) {
      const quantization = linearQuantizationFor(dtype);
      const fileName = `projector-${dtype}.onnx`;
      const written = await writeProjectorModel(dir, "fused-ldpnet", memoryWeights(tensors), {
        dims,
        fileName,
        quantization,
      });
      expect(written.files).toEqual([fileName, `${fileName}.data`]);
      const model = inspectModel(await readFile(written.modelPath));
      expect(model.metadata["cobra.dtype"]).toBe(dtype);
      expect(JSON.parse(model.metadata["cobra.quantization"])).toEqual(quantization);
      const fromDisk = await OnnxProjector.load(written.modelPath, { threads: 2 });
      try {
        const out = await fromDisk.project(f32([2, 36, 40], features));
        expect(out.data).toEqual(
          await project("fused-ldpnet", memoryWeights(tensors), quantization, features, dims),
        );
      } finally {
        await fromDisk.release();
      }
      const peg = model.initializer("projector.4.peg.0.weight");
      if (dtype === "fp16") {
        expect(model.initializer("projector.0.weight")?.type).toBe("float16");
        expect(peg?.type).toBe("float16");
      } else {
        expect(model.initializer("projector.0.weight")).toBeUndefined();
        expect(model.initializer("projector.0.weight.codes")).toMatchObject({
          type: "uint8",
          // [4 * visionDim, ceil(40 / block), block * bits / 8]: blocks of 32 at q8, 128 at q4 (the defaults)
          dims: dtype === "q8" ? [160, 2, 32] : [160, 1, 64],
        });
        expect(model.initializer("projector.2.weight.scales")).toMatchObject({
          type: "float32",
          dims: dtype === "q8" ? [24, 5] : [24, 2], // [llmDim, ceil(160 / block)]
        });
        expect(peg?.type).toBe("float32");
      }
    }
  });
});
