import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lmQuantizationFor } from "../graph/lm-quantization.js";
import { runtimeTensors } from "../graph/runtime-tensors.js";
import { writeLanguageModel } from "../graph/write-language-model.js";
import { fixtureConfig, openCheckpoint } from "../test-support/fixture.js";
import { openConvertedLmWeights } from "./converted-lm-weights.js";
import { MambaWeights } from "./mamba-weights.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cobra-converted-lm-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("openConvertedLmWeights", () => {
  it("reads back every tensor of an fp32 conversion bit for bit, in torch's layout", async () => {
    const checkpoint = await openCheckpoint();
    try {
      const part = await writeLanguageModel(join(dir, "fp32"), checkpoint, fixtureConfig());
      const source = await openConvertedLmWeights(join(dir, "fp32"), part.config);
      const config = fixtureConfig();
      const original = MambaWeights.from(checkpoint);
      try {
        // Every tensor the graph needs (a tied checkpoint's stored lm_head copy is not one of them).
        expect(source.keys().sort()).toEqual(
          runtimeTensors(config)
            .map((t) => t.source)
            .sort(),
        );
        for (const key of source.keys()) {
          const [a, b] = await Promise.all([source.read(key), original.read(key)]);
          expect(a.shape, key).toEqual(b.shape);
          expect(
            Buffer.from((a.data as Float32Array).buffer).equals(Buffer.from((b.data as Float32Array).buffer)),
            key,
          ).toBe(true);
        }
      } finally {
        await source.close();
      }
    } finally {
      await checkpoint.close();
    }
  });

  it("refuses a quantized or fp16 conversion and a folder without the graph", async () => {
    const checkpoint = await openCheckpoint();
    let part: Awaited<ReturnType<typeof writeLanguageModel>>;
    try {
      part = await writeLanguageModel(join(dir, "q4"), checkpoint, fixtureConfig(), {
        quantization: lmQuantizationFor("q4"),
      });
    } finally {
      await checkpoint.close();
    }
    expect(part.dtype).toBe("q4");
    await expect(openConvertedLmWeights(join(dir, "q4"), part.config)).rejects.toThrow(InvalidArgumentError);
    await expect(openConvertedLmWeights(join(dir, "q4"), part.config)).rejects.toThrow(
      /quantize from the fp32 conversion/,
    );
    // An fp16 LM's weights are rounded already: quantizing them would add a second error too.
    const fp16 = {
      ...part.config,
      options: { ...part.config.options, quantization: lmQuantizationFor("fp16") },
    };
    await expect(openConvertedLmWeights(join(dir, "q4"), fp16)).rejects.toThrow(
      /holds an LM already at fp16; quantize from the fp32 conversion/,
    );
    const fp32 = { ...part.config, options: { ...part.config.options, quantization: null } };
    await expect(openConvertedLmWeights(join(dir, "missing"), fp32)).rejects.toThrow(/ENOENT|no such file/);
  });
});
