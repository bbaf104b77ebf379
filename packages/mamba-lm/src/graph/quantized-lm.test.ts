import {
  dequantizeBlockwise,
  inspectModel,
  MemoryWeights,
  quantizeBlockwise,
  type Tensor,
  type WeightSource,
} from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { type MambaConfig, type MambaConfigInput, resolveMambaConfig } from "../config/mamba-config.js";
import { MambaLM } from "../model/mamba-lm.js";
import { referenceLogits } from "../reference/float64-forward.js";
import { syntheticMambaSource } from "../reference/synthetic-weights.js";
import { fixtureConfig, maxAbsDiff, openCheckpoint } from "../test-support/fixture.js";
import { MambaWeights } from "../weights/mamba-weights.js";
import { buildLanguageModel } from "./convert.js";
import { type LmQuantization, tensorQuantization } from "./lm-quantization.js";

/** The source with every tensor the LM quantizes replaced by its dequantized value: what the graph computes on. */
async function dequantizedSource(
  source: WeightSource,
  config: MambaConfig,
  q: LmQuantization,
): Promise<WeightSource> {
  const weights = MambaWeights.from(source);
  const tensors = new Map<string, Tensor>();
  for (const key of source.keys()) tensors.set(key, await source.read(key));
  for (const name of weights.keys()) {
    const bq = tensorQuantization(name, q, config.tieEmbeddings);
    if (!bq) continue;
    const t = await weights.read(name);
    const [rows, cols] = t.shape;
    const data = dequantizeBlockwise(quantizeBlockwise(t.data as Float32Array, rows, cols, bq));
    tensors.set(weights.sourceKey(name), { ...t, data });
  }
  return new MemoryWeights(tensors);
}

/** Every position's logits, the first from prefill and the rest from steps (a quantized graph returns the last only). */
async function logitsByStep(lm: MambaLM, ids: number[]): Promise<Float32Array> {
  const v = lm.dims.vocabSize;
  const out = new Float32Array(ids.length * v);
  let { logits, state } = await lm.prefill({ ids: ids.slice(0, 3) });
  out.set(logits.data, 2 * v);
  for (let t = 3; t < ids.length; t++) {
    ({ logits, state } = await lm.step(ids[t], state));
    out.set(logits.data, t * v);
  }
  return out;
}

function positionsFrom(all: ArrayLike<number>, from: number, v: number): number[] {
  return Array.from(all).slice(from * v);
}

const Q8: LmQuantization = { method: "matmul-nbits", bits: 8, headBits: 8, blockSize: 32, accuracyLevel: 0 };
const Q4: LmQuantization = { method: "matmul-nbits", bits: 4, headBits: 8, blockSize: 32, accuracyLevel: 0 };
const Q4_HEAD4: LmQuantization = {
  method: "matmul-nbits",
  bits: 4,
  headBits: 4,
  blockSize: 16,
  accuracyLevel: 0,
};

describe("a block-quantized LM graph equals a float64 forward on its dequantized weights", () => {
  const variants: [string, Partial<MambaConfigInput> & { dModel: number }, LmQuantization][] = [
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
        const got = await logitsByStep(lm, ids);
        const expected = await referenceLogits(await dequantizedSource(source, config, q), config, ids);
        const v = config.vocabSizePadded;
        const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
        const diff = maxAbsDiff(positionsFrom(got, 2, v), positionsFrom(expected, 2, v));
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
        const got = await logitsByStep(lm, ids);
        const expected = await referenceLogits(await dequantizedSource(source, config, Q4), config, ids);
        const v = config.vocabSizePadded;
        const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
        expect(maxAbsDiff(positionsFrom(got, 2, v), positionsFrom(expected, 2, v))).toBeLessThanOrEqual(
          2e-5 * scale,
        );
      } finally {
        await lm.release();
      }
    } finally {
      await source.close();
    }
  });
});
