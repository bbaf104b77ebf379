import { createSession } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MambaConfigInput, resolveMambaConfig } from "../config/mamba-config.js";
import { MambaLM } from "../model/mamba-lm.js";
import { referenceLogits } from "../reference/float64-forward.js";
import { syntheticMambaSource } from "../reference/synthetic-weights.js";
import {
  CASES,
  fixtureConfig,
  loadFixtureLM,
  maxAbsDiff,
  openCheckpoint,
  prefixOf,
} from "../test-support/fixture.js";
import { buildLanguageModel } from "./convert.js";
import { runtimeTensors } from "./runtime-tensors.js";

describe("the LM graph's interface", () => {
  let model: Uint8Array;
  beforeAll(async () => {
    const source = await openCheckpoint();
    model = (await buildLanguageModel(source, fixtureConfig())).model;
    await source.close();
  });

  it("declares inputs_embeds and per-layer states in; logits and new states out", async () => {
    const session = await createSession(model);
    const inputs = Object.fromEntries(
      session.inputMetadata.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : null]),
    );
    expect(inputs).toMatchObject({
      inputs_embeds: ["float32", ["batch", "positions", 16]],
      "conv_state.0": ["float32", ["batch", 32, 3]],
      "ssm_state.3": ["float32", ["batch", 16, 32]], // [batch, d_state, d_inner]
    });
    expect(session.inputNames).toHaveLength(1 + 2 * 4);
    expect(session.outputNames).toEqual([
      "conv_state_out.0",
      "ssm_state_out.0",
      "conv_state_out.1",
      "ssm_state_out.1",
      "conv_state_out.2",
      "ssm_state_out.2",
      "conv_state_out.3",
      "ssm_state_out.3",
      "logits",
    ]);
    await session.release();
  });

  it("holds every weight once: the tied head reuses the embedding, the model is the weights plus a few KB", () => {
    const tensors = runtimeTensors(fixtureConfig());
    expect(tensors.some((t) => t.source === "lm_head.weight")).toBe(false);
    const weightBytes = tensors.reduce((s, t) => s + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
    expect(model.byteLength).toBeGreaterThan(weightBytes);
    expect(model.byteLength - weightBytes).toBeLessThan(100_000);
  });
});

describe('a graph converted with logits: "all" only', () => {
  let all: MambaLM;
  let last: MambaLM;
  beforeAll(async () => {
    [all, last] = await Promise.all([loadFixtureLM({ logits: "all" }), loadFixtureLM()]);
  });
  afterAll(() => Promise.all([all?.release(), last?.release()]));

  it("still returns last-position logits (taken from all_logits), equal to the default graph's", async () => {
    const c = CASES[0];
    const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
    const a = await all.prefill(input, undefined, { allLogits: true });
    const b = await last.prefill(input);
    expect(a.allLogits!.shape).toEqual([1, 729 + c.input_ids.length, 50280]);
    expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-6);
    const withoutAll = await all.prefill(input);
    expect(withoutAll.allLogits).toBeUndefined();
    expect(maxAbsDiff(withoutAll.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-6);
    await expect(last.prefill(input, undefined, { allLogits: true })).rejects.toThrow(
      /converted without all-position logits/,
    );
  });
});

describe("the scan schedules (@cobra-ts/scan ScanSchedule) in the LM graph", () => {
  it('"after" and "inside" give the prefill and next-step logits of the default "per-token"', async () => {
    const c = CASES[1];
    const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
    const run = async (scanOutput: "after" | "inside" | "per-token") => {
      const lm = await loadFixtureLM({ scanOutput });
      try {
        const r = await lm.prefill(input);
        const next = await lm.step(c.greedy_ids[0], r.state);
        return [r.logits.data, next.logits.data]; // the step's logits depend on the carried state
      } finally {
        await lm.release();
      }
    };
    const perToken = await run("per-token");
    for (const schedule of ["after", "inside"] as const) {
      const other = await run(schedule);
      const diff = Math.max(...other.map((v, i) => maxAbsDiff(v, perToken[i])));
      expect(diff, schedule).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe("the LM graph on configs the oracle fixtures do not cover, against a plain TS forward", () => {
  const variants: [string, Partial<MambaConfigInput>][] = [
    [
      "LayerNorm, biased projections, no conv bias, d_conv 3, untied head",
      { rmsNorm: false, bias: true, convBias: false, dConv: 3, tieEmbeddings: false },
    ],
    [
      "RMSNorm, d_conv 2, d_state 4, dt_rank 3, expand 1.5, tied head",
      { dConv: 2, dState: 4, dtRank: 3, expand: 1.5 },
    ],
  ];
  for (const [name, variant] of variants)
    it(name, async () => {
      const config = resolveMambaConfig({
        dModel: 24,
        nLayer: 2,
        vocabSize: 90,
        padVocabSizeMultiple: 8,
        ...variant,
      });
      const source = syntheticMambaSource(config, { seed: 11 });
      const ids = [3, 17, 0, 89, 42, 42, 7, 64, 5, 30, 11];
      const lm = await MambaLM.load({
        model: (await buildLanguageModel(source, config, { logits: "both" })).model,
      });
      try {
        const { allLogits, state } = await lm.prefill({ ids: ids.slice(0, -1) }, undefined, {
          allLogits: true,
        });
        const step = await lm.step(ids.at(-1)!, state);
        const expected = await referenceLogits(source, config, ids);
        const v = config.vocabSizePadded;
        const got = new Float32Array(ids.length * v);
        got.set(allLogits!.data);
        got.set(step.logits.data, (ids.length - 1) * v);
        const scale = Math.max(1, ...expected.map(Math.abs));
        console.log(
          `${name}: max abs diff ${maxAbsDiff(got, expected).toExponential(2)} (logits up to ${scale.toFixed(2)})`,
        );
        expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-5 * scale);
      } finally {
        await lm.release();
      }
    });
});
