import { inspectModel } from "@cobra-ts/core";
import { drift } from "@cobra-ts/core/testing";
import { describe, expect, it } from "vitest";
import { type MambaConfigInput, resolveMambaConfig } from "../config/mamba-config.js";
import { MambaLM } from "../model/mamba-lm.js";
import { referenceLogits } from "../reference/float64-forward.js";
import { syntheticMambaSource } from "../reference/synthetic-weights.js";
import { fixtureConfig, openCheckpoint } from "../test-support/fixture.js";
import { logitsByStep, offWeightsAsStored, positionsFrom } from "../test-support/lm-as-stored.js";
import { buildLanguageModel } from "./convert.js";
import { type LmQuantization, lmQuantizationFor } from "./lm-quantization.js";

const FP16 = lmQuantizationFor("fp16")!;
const Q4F16_LEVEL0 = lmQuantizationFor("q4f16", { accuracyLevel: 0 })!;

/**
 * How close the graph must come to a float64 forward on its weights as stored, relative to the largest logit:
 * fp16 computes in fp32 on the widened weights (float rounding only); q4f16 also rounds each projection's input
 * and output to float16 (a relative 2^-11 each).
 */
const KERNEL_BOUND: Record<string, number> = { fp16: 2e-5, q4f16: 2e-3 };

describe("an fp16 / q4f16 LM graph equals a float64 forward on its weights as stored", () => {
  const variants: [string, Partial<MambaConfigInput> & { dModel: number }][] = [
    ["tied head, d_model 48", { dModel: 48 }],
    [
      "dt_rank 20 (K padded to a block), untied head, biased LayerNorm model",
      {
        dModel: 40,
        dtRank: 20,
        tieEmbeddings: false,
        rmsNorm: false,
        bias: true,
      },
    ],
  ];
  for (const [dtype, q] of [
    ["fp16", FP16],
    ["q4f16", Q4F16_LEVEL0],
  ] as [string, LmQuantization][])
    for (const [name, variant] of variants)
      it(`${dtype}, ${name}`, async () => {
        const config = resolveMambaConfig({ nLayer: 2, vocabSize: 90, padVocabSizeMultiple: 8, ...variant });
        const source = syntheticMambaSource(config, { seed: 7 });
        const ids = [3, 17, 0, 89, 42, 42, 7, 64, 5, 30, 11];
        const { model } = await buildLanguageModel(source, config, { quantization: q });
        const inspection = inspectModel(model);
        // Stored as float16: the head's table (fp16) or its scales (q4f16); the recurrent parts stay fp32.
        const table = inspection.initializer(
          dtype === "fp16" ? "embedding.weight" : "embedding.weight.scales",
        );
        expect(table?.type).toBe("float16");
        expect(inspection.initializer("layers.0.mixer.A_log")?.type).toBe("float32");
        expect(inspection.initializer("layers.0.mixer.conv1d.weight")?.type).toBe("float32");
        const lm = await MambaLM.load({ model });
        try {
          const { diff, scale } = await offWeightsAsStored(lm, source, config, q, ids);
          console.log(
            `${dtype}, ${name}: vs its weights as stored ${(diff / scale).toExponential(2)} of the largest logit`,
          );
          expect(diff).toBeLessThanOrEqual(KERNEL_BOUND[dtype] * scale);
        } finally {
          await lm.release();
        }
      });
});

/**
 * The fp32 model's logits are the oracle: each dtype as `cobra convert --dtype` writes it (accuracy level 4 for
 * the quantized ones) against a float64 forward on the fixture checkpoint's own weights, over teacher-forced
 * positions. Bounds per dtype, relative RMS error of the logits: fp16 rounds the weights only (9e-4
 * measured); q4f16 is q4 plus float16 scales and activations, so it must stay near q4, measured in the same
 * run (the tiny random model is far more sensitive to 4 bits than a trained one: rel RMS 0.55 at q4).
 */
describe("fp16 and q4f16 on the fixture's Cobra checkpoint LM, against the fp32 logits", () => {
  it("fp16 is within 3e-3 with every top-1 kept; q4f16 within 1.25x of q4's error and top-1 agreement", async () => {
    const source = await openCheckpoint();
    const config = fixtureConfig();
    const ids = [1, 5, 9, 200, 31, 7, 7, 64, 12, 400, 3, 3, 88, 150, 9, 2];
    const v = config.vocabSizePadded;
    try {
      const fp32 = positionsFrom(await referenceLogits(source, config, ids), 2, v);
      const figures: Record<string, { relL2: number; top1: number }> = {};
      for (const dtype of ["fp16", "q4", "q4f16"]) {
        const { model } = await buildLanguageModel(source, config, {
          quantization: lmQuantizationFor(dtype),
        });
        const lm = await MambaLM.load({ model });
        try {
          const got = positionsFrom(await logitsByStep(lm, ids), 2, v);
          const d = drift(Float32Array.from(got), Float32Array.from(fp32), v);
          let same = 0;
          for (let r = 0; r < fp32.length; r += v) same += +(argmax(got, r, v) === argmax(fp32, r, v));
          figures[dtype] = { relL2: d.relL2, top1: same / (fp32.length / v) };
        } finally {
          await lm.release();
        }
      }
      console.log(
        Object.entries(figures)
          .map(
            ([k, f]) => `${k}: rel RMS ${f.relL2.toExponential(2)}, same top-1 ${(100 * f.top1).toFixed(0)}%`,
          )
          .join("; "),
      );
      expect(figures.fp16.relL2).toBeGreaterThan(0);
      expect(figures.fp16.relL2).toBeLessThan(3e-3);
      expect(figures.fp16.top1).toBe(1);
      expect(figures.q4f16.relL2).toBeLessThan(1.25 * figures.q4.relL2);
      expect(figures.q4f16.top1).toBeGreaterThanOrEqual(figures.q4.top1 - 0.15);
    } finally {
      await source.close();
    }
  });
});

function argmax(a: ArrayLike<number>, from: number, n: number): number {
  let best = from;
  for (let i = from + 1; i < from + n; i++) if (a[i] > a[best]) best = i;
  return best - from;
}
