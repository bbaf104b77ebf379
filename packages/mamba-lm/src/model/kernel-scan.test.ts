import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelFormatError } from "@cobra-ts/core";
import { referenceKernel } from "@cobra-ts/scan";
import { ModelProtoSchema } from "onnx-buf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLanguageModel } from "../graph/convert.js";
import { lmQuantizationFor } from "../graph/lm-quantization.js";
import { SCAN_REGIONS_METADATA } from "../graph/scan-regions.js";
import {
  argmax,
  CASES,
  fixtureConfig,
  loadFixtureLM,
  maxAbsDiff,
  openCheckpoint,
  prefixOf,
} from "../test-support/fixture.js";
import { MambaLM } from "./mamba-lm.js";

// The same converted fixture LM, its scans inside the graph (the oracle-checked form) and in a kernel.
let graphForm: MambaLM;
let kernelForm: MambaLM;
beforeAll(async () => {
  graphForm = await loadFixtureLM();
  kernelForm = await loadFixtureLM({}, { scan: "kernel" });
});
afterAll(async () => {
  await Promise.all([graphForm?.release(), kernelForm?.release()]);
});

describe('MambaLM with scan: "kernel" (the graph in segments, the wasm SIMD scan between them)', () => {
  it("reproduces the graph form's prefill and decode logits (max abs diff <= 1e-4) and every greedy id", async () => {
    let worst = 0;
    for (const c of CASES) {
      const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
      let a = await graphForm.prefill(input);
      let b = await kernelForm.prefill(input);
      for (const [k, id] of c.greedy_ids.entries()) {
        worst = Math.max(worst, maxAbsDiff(a.logits.data, b.logits.data));
        expect(argmax(b.logits.data), `${c.id} step ${k}`).toBe(id);
        if (k + 1 < c.greedy_ids.length) {
          a = await graphForm.step(id, a.state);
          b = await kernelForm.step(id, b.state);
        }
      }
      const [sa, sb] = [await a.state.toBytes(), await b.state.toBytes()];
      expect(sb.length).toBe(sa.length);
    }
    expect([graphForm.scanKernel, kernelForm.scanKernel]).toEqual([null, "wasm-simd"]);
    console.log(`kernel vs graph form, ${CASES.length} cases: max abs logit diff ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it("keeps the state in the graph form's layout: a state saved by one form continues in the other", async () => {
    const c = CASES[0];
    const { state } = await graphForm.prefill({ prefixEmbeds: await prefixOf(c), ids: c.input_ids });
    const moved = kernelForm.restoreState(await state.toBytes());
    const a = await graphForm.step(c.greedy_ids[0], state);
    const b = await kernelForm.step(c.greedy_ids[0], moved);
    expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-4);
  });

  it("runs batches and chunked prefill like the graph form", async () => {
    const ids = [CASES[0].input_ids.slice(0, 6), CASES[1 % CASES.length].input_ids.slice(0, 6)];
    const a = await graphForm.prefill({ ids });
    const chunked = await loadFixtureLM({}, { scan: "kernel", chunkSize: 4, scanKernel: referenceKernel });
    try {
      const b = await chunked.prefill({ ids });
      expect(b.logits.shape).toEqual([2, fixtureConfig().vocabSizePadded]);
      expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-4);
    } finally {
      await chunked.release();
    }
  });

  // The reduced-precision LMs (what `cobra convert --dtype lm=...` writes): casts and MatMulNBits sit between the
  // scans, which stay fp32, so each segment computes what the same nodes compute in the one graph. Each form
  // decodes greedily on its own; every step's logits and token are compared. q4f16's head runs in float16, so
  // its logits are float16 values and the scans' ~1e-6 differences (in the states) rarely move one of them.
  for (const dtype of ["q8", "fp16", "q4f16"] as const)
    it(`cuts a ${dtype} LM graph as well: the graph form's greedy tokens, logits within 1e-4`, async () => {
      const quantized = { quantization: lmQuantizationFor(dtype) };
      const [a, b] = [await loadFixtureLM(quantized), await loadFixtureLM(quantized, { scan: "kernel" })];
      try {
        expect(b.scanKernel).toBe("wasm-simd");
        let worst = 0;
        for (const c of CASES.slice(0, 2)) {
          const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
          let [ra, rb] = [await a.prefill(input), await b.prefill(input)];
          for (let k = 0; k < c.max_new_tokens; k++) {
            worst = Math.max(worst, maxAbsDiff(ra.logits.data, rb.logits.data));
            const next = argmax(ra.logits.data);
            expect(argmax(rb.logits.data), `${c.id} step ${k}`).toBe(next);
            [ra, rb] = [await a.step(next, ra.state), await b.step(next, rb.state)];
          }
        }
        console.log(`${dtype} LM, kernel vs graph form: max abs logit diff ${worst.toExponential(3)}`);
        expect(worst).toBeLessThanOrEqual(1e-4);
      } finally {
        await Promise.all([a.release(), b.release()]);
      }
    });

  it("runs its segments on onnxruntime-web's WASM build too (backend wasm), matching the CPU graph form", async () => {
    const onWasm = await loadFixtureLM({}, { scan: "kernel", backend: "wasm" });
    try {
      expect(onWasm.backend).toBe("wasm");
      const c = CASES[0];
      const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
      const [a, b] = [await graphForm.prefill(input), await onWasm.prefill(input)];
      expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-4);
      expect(argmax(b.logits.data)).toBe(c.greedy_ids[0]);
    } finally {
      await onWasm.release();
    }
  });

  it("refuses a graph that does not record its scans, saying to convert again", async () => {
    const source = await openCheckpoint();
    try {
      const { model } = await buildLanguageModel(source, fixtureConfig());
      const stripped = stripMetadata(model, SCAN_REGIONS_METADATA);
      await expect(MambaLM.load({ model: stripped }, { scan: "kernel" })).rejects.toThrow(ModelFormatError);
      await expect(MambaLM.load({ model: stripped }, { scan: "kernel" })).rejects.toThrow(/convert it again/);
    } finally {
      await source.close();
    }
  });
});

/** The model without one metadata_props entry. */
function stripMetadata(model: Uint8Array, key: string): Uint8Array {
  const proto = fromBinary(ModelProtoSchema, model);
  proto.metadataProps = proto.metadataProps.filter((p) => p.key !== key);
  return toBinary(ModelProtoSchema, proto);
}
