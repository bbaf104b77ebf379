import { f32 } from "@cobra-ts/core";
import { pseudoRandom } from "@cobra-ts/core/testing";
import { describe, expect, it } from "vitest";
import {
  adaptiveAvgPoolMatrix,
  adaptiveBins,
  expectedProjectorTensors,
  OnnxProjector,
  PROJECTOR_VARIANTS,
} from "../src/index.js";
import { maxAbsDiff, memoryWeights, randomWeights } from "./memory-weights.js";
import { referenceProject } from "./reference-projector.js";

const TOL = 1e-5;

describe("ONNX projector vs the plain TS reference, random weights", () => {
  const dims = { visionDim: 12, llmDim: 10 };
  const batch = 2;
  for (const variant of PROJECTOR_VARIANTS)
    it(variant, async () => {
      const tensors = randomWeights(expectedProjectorTensors(variant, dims), 7);
      const projector = await OnnxProjector.fromWeights(variant, memoryWeights(tensors), dims);
      try {
        // Inputs of a few units, like real features, so GELU sees both tails.
        const features = pseudoRandom(batch * 729 * dims.visionDim, 11, 3);
        const out = await projector.project(
          f32([batch, projector.numPatches, projector.visionDim], features),
        );
        const tokens = variant.endsWith("ldpnet") ? 196 : 729;
        expect(out.shape).toEqual([batch, tokens, dims.llmDim]);
        const plain = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data]));
        const ref = referenceProject(variant, plain, features, batch, 729);
        const diff = maxAbsDiff(out.data, ref);
        console.log(
          `[projector] ${variant}: ONNX vs TS reference, random weights, max abs diff ${diff.toExponential(2)}`,
        );
        expect(diff).toBeLessThanOrEqual(TOL);
      } finally {
        await projector.release();
      }
    });

  it("a batch of two gives each image what it gives alone", async () => {
    const variant = "fused-ldpnet";
    const tensors = randomWeights(expectedProjectorTensors(variant, dims), 3);
    const projector = await OnnxProjector.fromWeights(variant, memoryWeights(tensors), dims);
    try {
      const n = 729 * dims.visionDim;
      const features = pseudoRandom(2 * n, 5, 3);
      const both = await projector.project(f32([2, projector.numPatches, projector.visionDim], features));
      const second = await projector.project(
        f32([1, projector.numPatches, projector.visionDim], features.slice(n)),
      );
      expect(maxAbsDiff(both.data.subarray(both.data.length / 2), second.data)).toBeLessThanOrEqual(1e-6);
    } finally {
      await projector.release();
    }
  });
});

describe("AdaptiveAvgPool2d(14) over 27x27", () => {
  it("uses PyTorch's overlapping bins", () => {
    const bins = adaptiveBins(27, 14);
    expect(bins.slice(0, 4)).toEqual([
      [0, 2],
      [1, 4],
      [3, 6],
      [5, 8],
    ]);
    expect(bins[13]).toEqual([25, 27]);
  });

  it("every pooled token averages its bin (rows sum to 1)", () => {
    const m = adaptiveAvgPoolMatrix(27, 14);
    for (let r = 0; r < 196; r++) {
      let s = 0;
      for (let c = 0; c < 729; c++) s += m[r * 729 + c];
      expect(Math.abs(s - 1)).toBeLessThan(1e-6);
    }
  });
});
