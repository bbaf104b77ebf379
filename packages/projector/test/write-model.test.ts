import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WeightSource } from "@cobra-ts/core";
import { f32, WeightsMismatchError } from "@cobra-ts/core";
import { pseudoRandom } from "@cobra-ts/core/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectedProjectorTensors, OnnxProjector, writeProjectorModel } from "../src/node.js";
import { memoryWeights, randomWeights } from "./memory-weights.js";

const dims = { visionDim: 8, llmDim: 6 };

describe("writeProjectorModel (external data)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "projector-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes graph + data that run like the inline graph", async () => {
    const weights = memoryWeights(randomWeights(expectedProjectorTensors("fused-ldpnet", dims), 2));
    const written = await writeProjectorModel(dir, "fused-ldpnet", weights);
    expect(written.files).toEqual(["projector.onnx", "projector.onnx.data"]);
    expect((await readdir(dir)).sort()).toEqual(["projector.onnx", "projector.onnx.data"]);

    const fromFile = await OnnxProjector.load(written.modelPath);
    const inline = await OnnxProjector.fromWeights("fused-ldpnet", weights);
    try {
      expect([fromFile.numPatches, fromFile.visionDim, fromFile.outputTokens, fromFile.llmDim]).toEqual([
        729, 8, 196, 6,
      ]);
      const features = pseudoRandom(729 * 8, 9, 2);
      const a = await fromFile.project(f32([1, fromFile.numPatches, fromFile.visionDim], features));
      const b = await inline.project(f32([1, inline.numPatches, inline.visionDim], features));
      expect(a.data).toEqual(b.data);
    } finally {
      await fromFile.release();
      await inline.release();
    }
  });

  it("leaves nothing behind when the weights do not fit", async () => {
    const t = randomWeights(expectedProjectorTensors("fused-gelu-mlp", dims), 2);
    delete t["projector.4.bias"];
    await expect(writeProjectorModel(dir, "fused-gelu-mlp", memoryWeights(t))).rejects.toThrow(
      WeightsMismatchError,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("leaves nothing behind when a read fails midway", async () => {
    const good = memoryWeights(randomWeights(expectedProjectorTensors("fused-gelu-mlp", dims), 2));
    const failing: WeightSource = {
      path: good.path,
      keys: () => good.keys(),
      has: (key) => good.has(key),
      info: (key) => good.info(key),
      close: () => good.close(),
      read: async (key) => {
        if (key === "projector.4.weight") throw new Error("disk went away");
        return good.read(key);
      },
    };
    await expect(writeProjectorModel(dir, "fused-gelu-mlp", failing)).rejects.toThrow("disk went away");
    expect(await readdir(dir)).toEqual([]);
  });
});
