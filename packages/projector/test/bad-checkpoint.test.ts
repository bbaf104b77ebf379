import { ConfigError, f32, InvalidArgumentError, WeightsMismatchError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import {
  buildProjectorGraph,
  expectedProjectorTensors,
  OnnxProjector,
  type ProjectorVariant,
  validateProjectorWeights,
} from "../src/index.js";
import { type MemoryTensor, memoryWeights, randomWeights } from "./memory-weights.js";

const dims = { visionDim: 8, llmDim: 6 };

function released(): Record<string, MemoryTensor> {
  return randomWeights(expectedProjectorTensors("fused-gelu-mlp", dims), 1);
}

/** Asserts `run` rejects with a WeightsMismatchError about `key` whose message names it. */
async function expectMismatch(run: () => Promise<unknown>, key: string): Promise<void> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeightsMismatchError);
  expect((err as WeightsMismatchError).key).toBe(key);
  expect((err as Error).message).toContain(key);
}

describe("a checkpoint that does not fit the variant", () => {
  it("missing key", async () => {
    const t = released();
    delete t["projector.2.bias"];
    await expectMismatch(() => buildProjectorGraph("fused-gelu-mlp", memoryWeights(t)), "projector.2.bias");
  });

  it("wrong shape", async () => {
    const t = released();
    t["projector.4.weight"] = { shape: [6, 7], data: new Float32Array(42) };
    await expectMismatch(() => buildProjectorGraph("fused-gelu-mlp", memoryWeights(t)), "projector.4.weight");
  });

  it("unexpected extra key (strict load_state_dict)", async () => {
    const t = released();
    t["projector.6.weight"] = { shape: [6, 6], data: new Float32Array(36) };
    await expectMismatch(() => buildProjectorGraph("fused-gelu-mlp", memoryWeights(t)), "projector.6.weight");
  });

  it("integer tensor", async () => {
    const t = released();
    t["projector.0.bias"] = { ...t["projector.0.bias"], dtype: "I64" };
    await expectMismatch(() => buildProjectorGraph("fused-gelu-mlp", memoryWeights(t)), "projector.0.bias");
  });

  it.each<[ProjectorVariant, string]>([
    ["gelu-mlp", "projector.0.weight"], // [4D, D] where gelu-mlp wants [d, D]
    ["linear", "projector.weight"],
    ["fused-ldpnet", "projector.4.peg.0.weight"],
  ])("the released (fused-gelu-mlp) weights read as %s fail on %s", async (variant, key) => {
    await expectMismatch(() => buildProjectorGraph(variant, memoryWeights(released())), key);
  });

  it("dims given that disagree with the weights", async () => {
    await expectMismatch(
      () => buildProjectorGraph("fused-gelu-mlp", memoryWeights(released()), { visionDim: 9, llmDim: 6 }),
      "projector.0.weight",
    );
  });

  it("a whole checkpoint passed without withPrefix says what to do", () => {
    const whole = Object.fromEntries(Object.entries(released()).map(([k, v]) => [`model.projector.${k}`, v]));
    expect(() => validateProjectorWeights("fused-gelu-mlp", memoryWeights(whole))).toThrow(/withPrefix/);
  });

  it("unknown variant", async () => {
    await expect(
      buildProjectorGraph("fused-mlp" as ProjectorVariant, memoryWeights(released())),
    ).rejects.toThrow(ConfigError);
  });

  it("LDP on a non-square patch count", () => {
    const t = randomWeights(expectedProjectorTensors("ldpnet", dims), 1);
    expect(() => validateProjectorWeights("ldpnet", memoryWeights(t), { ...dims, numPatches: 700 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("bad project() input", () => {
  it("wrong feature count or batch is an InvalidArgumentError", async () => {
    const projector = await OnnxProjector.fromWeights("fused-gelu-mlp", memoryWeights(released()));
    try {
      await expect(
        projector.project(f32([1, projector.numPatches, projector.visionDim], new Float32Array(729 * 8 - 1))),
      ).rejects.toThrow(InvalidArgumentError);
      await expect(
        projector.project(f32([0, projector.numPatches, projector.visionDim], new Float32Array(729 * 8))),
      ).rejects.toThrow(InvalidArgumentError);
      await expect(
        projector.project(f32([2, projector.numPatches, projector.visionDim], new Float32Array(729 * 8))),
      ).rejects.toThrow(InvalidArgumentError);
    } finally {
      await projector.release();
    }
  });
});
