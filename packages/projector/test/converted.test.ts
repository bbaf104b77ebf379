import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linearQuantizationFor, ModelFormatError, WeightsMismatchError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectedProjectorTensors,
  openConvertedProjectorWeights,
  PROJECTOR_VARIANTS,
  writeProjectorModel,
} from "../src/node.js";
import { memoryWeights, randomWeights } from "./memory-weights.js";

// 196 patches: a 14 x 14 grid, which the LDP variants pool to 14 x 14.
const dims = { visionDim: 8, llmDim: 6, numPatches: 196 };
const config = (graph: string) => ({
  graph,
  archSpecifier: "test",
  inputDim: 8,
  outputDim: 6,
  numTokens: 196,
});

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "projector-converted-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("openConvertedProjectorWeights", () => {
  it.each(PROJECTOR_VARIANTS)(
    "%s: an fp32 graph's weights write the same q4 / fp16 graph as the checkpoint's",
    async (variant) => {
      const weights = memoryWeights(randomWeights(expectedProjectorTensors(variant, dims), 3));
      await writeProjectorModel(dir, variant, weights, { dims, fileName: `${variant}.onnx` });
      const { weights: read, dims: readDims } = await openConvertedProjectorWeights(
        dir,
        variant,
        config(`${variant}.onnx`),
        dims.numPatches,
      );
      try {
        expect(readDims).toEqual(dims);
        for (const dtype of ["q4", "fp16"]) {
          const quantization = linearQuantizationFor(dtype);
          const [a, b] = [`${variant}-${dtype}-a.onnx`, `${variant}-${dtype}-b.onnx`];
          await writeProjectorModel(dir, variant, weights, { dims, fileName: a, quantization });
          await writeProjectorModel(dir, variant, read, { dims, fileName: b, quantization });
          for (const suffix of ["", ".data"]) {
            const [x, y] = await Promise.all([a, b].map((f) => readFile(join(dir, f + suffix))));
            // The graph file names its data file: compare it with that name swapped.
            expect(
              Buffer.from(y.toString("latin1").replaceAll(b, a), "latin1").equals(x),
              `${dtype}${suffix}`,
            ).toBe(true);
          }
        }
      } finally {
        await read.close();
      }
    },
  );

  it("refuses a quantized graph, and one of other sizes than its config says", async () => {
    const variant = "gelu-mlp";
    const weights = memoryWeights(randomWeights(expectedProjectorTensors(variant, dims), 4));
    await writeProjectorModel(dir, variant, weights, {
      dims,
      fileName: "q8.onnx",
      quantization: linearQuantizationFor("q8"),
    });
    await expect(openConvertedProjectorWeights(dir, variant, config("q8.onnx"), 196)).rejects.toThrow(
      ModelFormatError,
    );
    await writeProjectorModel(dir, variant, weights, { dims, fileName: "fp32.onnx" });
    await expect(
      openConvertedProjectorWeights(dir, variant, { ...config("fp32.onnx"), outputDim: 7 }, 196),
    ).rejects.toThrow(WeightsMismatchError);
  });
});
