import { InvalidArgumentError, ortFor } from "@cobra-ts/core";
import { recordingOrt } from "@cobra-ts/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  argmax,
  CASES,
  caseAt,
  expectedFloats,
  fixtureConfig,
  loadFixtureLM,
  longestPromptCase,
  maxAbsDiff,
  prefillLogitCases,
  prefixOf,
  stackedPrefixes,
} from "../test-support/fixture.js";
import type { MambaLM } from "./mamba-lm.js";

/** The set's LM config: dims differ between fixture sets. */
const CONFIG = fixtureConfig();
const VOCAB = CONFIG.vocabSizePadded;
const D = CONFIG.dModel;
let lm: MambaLM;
beforeAll(async () => {
  lm = await loadFixtureLM({ logits: "both" });
});
afterAll(() => lm?.release());

/**
 * The largest chunk size <= 100 that puts a chunk boundary inside the prefix (size < prefix) and one inside the
 * ids (a multiple of size strictly between prefix and prefix + ids); -1 if there is none.
 */
function chunkSizeInsideBoth(prefix: number, ids: number): number {
  for (let size = Math.min(100, prefix - 1); size >= 1; size--)
    if ((Math.floor(prefix / size) + 1) * size < prefix + ids) return size;
  return -1;
}

describe("MambaLM on the fixture set (Cobra checkpoint LM, projected image rows as prefix)", () => {
  it("reads its sizes off the graph, and says where it runs (cpu by default in Node)", () => {
    expect(lm.backend).toBe("cpu");
    expect(lm.dims).toEqual({
      nLayer: CONFIG.nLayer,
      dModel: D,
      dInner: CONFIG.dInner,
      convWidth: CONFIG.dConv - 1,
      dState: CONFIG.dState,
      vocabSize: VOCAB,
    });
  });

  it("opens its graph without onnxruntime's memory patterns (a new prompt length must not grow the arena)", async () => {
    const recorded = recordingOrt(await ortFor({ backend: "cpu" }));
    const other = await loadFixtureLM({}, { ort: recorded.ort });
    await other.release();
    expect(recorded.created.map((o) => o.enableMemPattern)).toEqual([false]);
  });

  it("prefill reproduces logits/<case>/prefill (max abs diff <= 1e-4)", async () => {
    const cases = await prefillLogitCases();
    expect(cases.length, "the set stores prefill logits for at least one case").toBeGreaterThan(0);
    let worst = 0;
    for (const c of cases) {
      const { logits } = await lm.prefill({ prefixEmbeds: await prefixOf(c), ids: c.input_ids });
      expect(logits.shape).toEqual([1, VOCAB]);
      worst = Math.max(worst, maxAbsDiff(logits.data, await expectedFloats(`logits/${c.id}/prefill`)));
    }
    console.log(`prefill logits vs oracle, ${cases.length} cases: max abs diff ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("teacher-forced decode reproduces every step_top5 logit and the greedy ids of all cases", async () => {
    let worst = 0;
    let steps = 0;
    for (const c of CASES) {
      let { logits, state } = await lm.prefill({ prefixEmbeds: await prefixOf(c), ids: c.input_ids });
      for (const [k, top] of c.step_top5.entries()) {
        top.ids.forEach((id, j) => {
          worst = Math.max(worst, Math.abs(logits.data[id] - top.logits[j]));
        });
        expect(argmax(logits.data), `${c.id} step ${k}`).toBe(c.greedy_ids[k]);
        steps++;
        if (k + 1 < c.step_top5.length) ({ logits, state } = await lm.step(c.greedy_ids[k], state));
      }
    }
    console.log(
      `step_top5 logits vs oracle, ${CASES.length} cases, ${steps} steps: max abs diff ${worst.toExponential(3)}`,
    );
    expect(steps).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("token-by-token decode equals one prefill over the whole sequence (all positions)", async () => {
    const c = caseAt(1);
    const ids = [...c.input_ids, ...c.greedy_ids.slice(0, 10)];
    const prefix = await prefixOf(c);
    const P = prefix.shape[1];
    const whole = await lm.prefill({ prefixEmbeds: prefix, ids }, undefined, { allLogits: true });
    expect(whole.allLogits!.shape).toEqual([1, P + ids.length, VOCAB]);
    let { state } = await lm.prefill({ prefixEmbeds: prefix });
    let worst = 0;
    for (const [t, id] of ids.entries()) {
      const r = await lm.step(id, state);
      state = r.state;
      const row = whole.allLogits!.data.subarray((P + t) * VOCAB, (P + t + 1) * VOCAB);
      worst = Math.max(worst, maxAbsDiff(r.logits.data, row));
    }
    console.log(
      `token-by-token vs one prefill, ${ids.length} positions: max abs diff ${worst.toExponential(3)}`,
    );
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(whole.logits.data, whole.allLogits!.data.subarray((P - 1 + ids.length) * VOCAB))).toBe(
      0,
    );
  });

  it("prefix-only then ids-only equals prefix and ids together (P = 0 and T = 0 both run)", async () => {
    const c = caseAt(0);
    const prefix = await prefixOf(c);
    const together = await lm.prefill({ prefixEmbeds: prefix, ids: c.input_ids });
    const afterPrefix = await lm.prefill({ prefixEmbeds: prefix, ids: [] });
    const split = await lm.prefill({ ids: c.input_ids }, afterPrefix.state);
    expect(maxAbsDiff(split.logits.data, together.logits.data)).toBeLessThanOrEqual(1e-5);
  });

  it("a long prefill run in chunks (boundaries inside the prefix and the ids) equals one run", async () => {
    const c = longestPromptCase();
    const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
    const chunkSize = chunkSizeInsideBoth(input.prefixEmbeds.shape[1], c.input_ids.length);
    expect(chunkSize, "a chunk size with boundaries inside the prefix and the ids").toBeGreaterThan(0);
    console.log(
      `chunked prefill: chunkSize ${chunkSize}, ${input.prefixEmbeds.shape[1]} + ${c.input_ids.length}`,
    );
    const chunked = await loadFixtureLM({ logits: "both" }, { chunkSize });
    try {
      const one = await lm.prefill(input, undefined, { allLogits: true });
      const many = await chunked.prefill(input, undefined, { allLogits: true });
      expect(many.allLogits!.shape).toEqual(one.allLogits!.shape);
      const diff = Math.max(
        maxAbsDiff(many.allLogits!.data, one.allLogits!.data),
        maxAbsDiff(many.logits.data, one.logits.data),
      );
      expect(diff).toBeLessThanOrEqual(1e-5);
    } finally {
      await chunked.release();
    }
  });

  it("a state saved after the prefix and restored continues exactly like recomputing from scratch", async () => {
    const c = caseAt(2);
    const { state: prefixState } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    const bytes = await prefixState.toBytes();
    // A 32-byte header, then float32 conv (d_conv - 1 columns) and ssm (d_state columns) states per layer.
    expect(bytes.byteLength).toBe(
      32 + 4 * CONFIG.nLayer * CONFIG.dInner * (CONFIG.dConv - 1 + CONFIG.dState),
    );
    const restored = lm.restoreState(bytes);
    const continued = await lm.prefill({ ids: c.input_ids }, restored);
    const scratch = await lm.prefill({ prefixEmbeds: await prefixOf(c), ids: c.input_ids });
    expect(maxAbsDiff(continued.logits.data, scratch.logits.data)).toBe(0);
    // The state object is a value: using it twice gives the same continuation, clone() is a deep copy.
    const again = await lm.prefill({ ids: c.input_ids }, prefixState.clone());
    expect(maxAbsDiff(again.logits.data, continued.logits.data)).toBe(0);
    // Constant size, whatever the number of positions seen.
    expect((await continued.state.toBytes()).byteLength).toBe(bytes.byteLength);
  });

  it("batch 2 prefill and decode equal two batch-1 runs", async () => {
    const [a, b] = [CASES[0], CASES[CASES.length - 1]];
    const n = Math.min(a.input_ids.length, b.input_ids.length);
    const [pa, pb] = [await prefixOf(a), await prefixOf(b)];
    const both = await stackedPrefixes([a, b]);
    const ids = [a.input_ids.slice(0, n), b.input_ids.slice(0, n)];
    let batch = await lm.prefill({ prefixEmbeds: both, ids });
    let one = await lm.prefill({ prefixEmbeds: pa, ids: ids[0] });
    let two = await lm.prefill({ prefixEmbeds: pb, ids: ids[1] });
    let worst = 0;
    for (let k = 0; k < 5; k++) {
      worst = Math.max(
        worst,
        maxAbsDiff(batch.logits.data.subarray(0, VOCAB), one.logits.data),
        maxAbsDiff(batch.logits.data.subarray(VOCAB), two.logits.data),
      );
      const next = [argmax(one.logits.data), argmax(two.logits.data)];
      batch = await lm.step(next, batch.state);
      one = await lm.step(next[0], one.state);
      two = await lm.step(next[1], two.state);
    }
    // Stacking two batch-1 states gives the same batch state; select() takes it apart again.
    const stacked = await lm.step(
      [7, 9],
      (await import("./mamba-state.js")).MambaState.stack([one.state, two.state]),
    );
    const separate = await lm.step(9, two.state);
    worst = Math.max(worst, maxAbsDiff(stacked.logits.data.subarray(VOCAB), separate.logits.data));
    const row1 = await lm.step(9, stacked.state.select([1]));
    expect(row1.state.batch).toBe(1);
    console.log(`batch 2 vs batch 1: max abs diff ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe("MambaLM rejects bad input with InvalidArgumentError", () => {
  it.each([
    [
      "an id past the padded vocabulary",
      { ids: [1, VOCAB] },
      `token id ${VOCAB} at row 0, position 1 is outside the vocabulary [0, ${VOCAB})`,
    ],
    ["a negative id", { ids: [-1] }, /token id -1/],
    ["a non-integer id", { ids: [1.5] }, /token id 1.5/],
    ["rows of different lengths", { ids: [[1, 2], [3]] }, /same length/],
    ["nothing to run", { ids: [] }, /nothing to run/],
    [
      "a prefix of the wrong width",
      { prefixEmbeds: { data: new Float32Array(D + 1), shape: [1, 1, D + 1] } },
      `[batch, positions, ${D}]`,
    ],
    [
      "a prefix whose data does not fit its shape",
      { prefixEmbeds: { data: new Float32Array(D - 1), shape: [1, 1, D] } },
      `holds ${D - 1} floats`,
    ],
    [
      "prefix and ids of different batch",
      { prefixEmbeds: { data: new Float32Array(2 * D), shape: [2, 1, D] }, ids: [1] },
      /batch 2 but ids have 1/,
    ],
  ])("%s", async (_what, input, message) => {
    await expect(lm.prefill(input as never)).rejects.toThrow(InvalidArgumentError);
    await expect(lm.prefill(input as never)).rejects.toThrow(message);
  });

  it("a state of another batch size, or foreign bytes", async () => {
    await expect(lm.step([1], lm.newState(2))).rejects.toThrow(/state has batch 2 but the input has 1/);
    expect(() => lm.restoreState(new Uint8Array(64))).toThrow(/bad magic/);
    const bytes = await lm.newState(1).toBytes();
    expect(() => lm.restoreState(bytes.subarray(0, bytes.length - 4))).toThrow(/length/);
    expect(() => lm.newState(0)).toThrow(InvalidArgumentError);
  });
});
