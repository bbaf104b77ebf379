import { inspectModel } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { type MambaConfigInput, resolveMambaConfig } from "../config/mamba-config.js";
import { MambaLM } from "../model/mamba-lm.js";
import { referenceLogits } from "../reference/float64-forward.js";
import { syntheticMambaSource } from "../reference/synthetic-weights.js";
import { fixtureConfig, maxAbsDiff, openCheckpoint } from "../test-support/fixture.js";
import { offWeightsAsStored, positionsFrom } from "../test-support/lm-as-stored.js";
import { buildLanguageModel } from "./convert.js";
import type { LmBlockQuantization } from "./lm-quantization.js";

const Q8: LmBlockQuantization = {
  method: "matmul-nbits",
  bits: 8,
  headBits: 8,
  blockSize: 32,
  accuracyLevel: 0,
};
const Q4: LmBlockQuantization = {
  method: "matmul-nbits",
  bits: 4,
  headBits: 8,
  blockSize: 32,
  accuracyLevel: 0,
};
const Q4_HEAD4: LmBlockQuantization = {
  method: "matmul-nbits",
  bits: 4,
  headBits: 4,
  blockSize: 16,
  accuracyLevel: 0,
};

describe("a block-quantized LM graph equals a float64 forward on its dequantized weights", () => {
  const variants: [string, Partial<MambaConfigInput> & { dModel: number }, LmBlockQuantization][] = [
    ["q8, tied head, d_model 48 (K a whole number of blocks)", { dModel: 48 }, Q8],
    [
      "q4 (8-bit head), dt_rank 20 (K padded to a block), untied head",
      { dModel: 40, dtRank: 20, tieEmbeddings: false },
      Q4,
    ],
    [
      "q4 with a 4-bit head in blocks of 16, biased LayerNorm model",
      { dModel: 24, rmsNorm: false, bias: true },
      Q4_HEAD4,
    ],
  ];
  const withLevels = variants.flatMap(([name, variant, q]) => [
    [name, variant, q] as const,
    [`${name}, int8 activations (accuracy level 4)`, variant, { ...q, accuracyLevel: 4 as const }] as const,
  ]);
  for (const [name, variant, q] of withLevels)
    it(name, async () => {
      const config = resolveMambaConfig({ nLayer: 2, vocabSize: 90, padVocabSizeMultiple: 8, ...variant });
      const source = syntheticMambaSource(config, { seed: 5 });
      const ids = [3, 17, 0, 89, 42, 42, 7, 64, 5, 30, 11];
      const lm = await MambaLM.load({
        model: (await buildLanguageModel(source, config, { quantization: q })).model,
      });
      try {
        const { diff, scale, expected } = await offWeightsAsStored(lm, source, config, q, ids);
        const v = config.vocabSizePadded;
        const fp32 = await referenceLogits(source, config, ids);
        const drift = maxAbsDiff(positionsFrom(fp32, 2, v), positionsFrom(expected, 2, v));
        console.log(
          `${name}: vs dequantized forward ${diff.toExponential(2)}; quantization drift vs fp32 ${drift.toExponential(2)} (logits up to ${scale.toFixed(2)})`,
        );
        // Level 0 dequantizes to fp32 (float rounding only); level 4 also rounds the activations to int8 per
        // block, an error of the order of the weights' own quantization.
        expect(diff).toBeLessThanOrEqual((q.accuracyLevel === 0 ? 2e-5 : 2e-2) * scale);
      } finally {
        await lm.release();
      }
    });

  it("on the fixture's Cobra checkpoint LM (q4, 8-bit head), weights held once: codes + scales, no fp32 table", async () => {
    const source = await openCheckpoint();
    const config = fixtureConfig();
    try {
      const { model } = await buildLanguageModel(source, config, { quantization: Q4 });
      const inspection = inspectModel(model);
      expect(inspection.initializer("embedding.weight")).toBeUndefined();
      expect(inspection.initializer("embedding.weight.codes")?.type).toBe("uint8");
      expect(inspection.initializer("layers.0.mixer.in_proj.weight.T")).toBeUndefined();
      const lm = await MambaLM.load({ model });
      const ids = [1, 5, 9, 200, 31, 7, 7, 64];
      try {
        const { diff, scale } = await offWeightsAsStored(lm, source, config, Q4, ids);
        expect(diff).toBeLessThanOrEqual(2e-5 * scale);
      } finally {
        await lm.release();
      }
    } finally {
      await source.close();
    }
  });
});
