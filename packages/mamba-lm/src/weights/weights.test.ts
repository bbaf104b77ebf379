import { f32, MemoryWeights, type Tensor, WeightsMismatchError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMambaConfig } from "../config/mamba-config.js";
import { buildLanguageModel } from "../graph/convert.js";
import { MambaLM } from "../model/mamba-lm.js";
import { syntheticMambaSource } from "../reference/synthetic-weights.js";
import { fixtureConfig, maxAbsDiff, openCheckpoint } from "../test-support/fixture.js";
import { locateMambaWeights, MambaWeights } from "./mamba-weights.js";
import { validateMambaWeights } from "./validate.js";

const LM = "model.llm_backbone.llm.";
/** The set's LM config (dims differ between fixture sets). */
const CONFIG = fixtureConfig();
const { dModel: D, nLayer: N, dInner, vocabSizePadded: VOCAB } = CONFIG;
let checkpoint: MemoryWeights;

beforeAll(async () => {
  const source = await openCheckpoint();
  const tensors = new Map<string, Tensor>();
  for (const key of source.keys()) tensors.set(key, await source.read(key));
  await source.close();
  checkpoint = new MemoryWeights(tensors);
});

/** The checkpoint with some keys edited: a value replaces (or adds) a tensor, null deletes it. */
function edited(changes: Record<string, Tensor | null>): MemoryWeights {
  const tensors = new Map(checkpoint.tensors);
  for (const [key, t] of Object.entries(changes)) t === null ? tensors.delete(key) : tensors.set(key, t);
  return new MemoryWeights(tensors);
}

function mismatch(source: MemoryWeights, config = fixtureConfig()): WeightsMismatchError {
  try {
    validateMambaWeights(MambaWeights.from(source), config);
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsMismatchError);
    return e as WeightsMismatchError;
  }
  throw new Error("expected a WeightsMismatchError");
}

describe("locating and validating Mamba weights", () => {
  it("finds the LM inside a Cobra checkpoint and ignores the projector", () => {
    const weights = MambaWeights.from(checkpoint);
    expect(weights.layout).toEqual({ root: LM, backbone: `${LM}backbone.`, dialect: "mamba_ssm" });
    expect(weights.unknownKeys).toEqual([]);
    expect(weights.keys()).toContain(`layers.${N - 1}.mixer.A_log`);
    expect(weights.sourceKey("embedding.weight")).toBe(`${LM}backbone.embedding.weight`);
    expect(() => validateMambaWeights(weights, fixtureConfig())).not.toThrow();
  });

  it("names a missing key", () => {
    const key = `${LM}backbone.layers.${Math.min(2, N - 1)}.mixer.D`;
    const e = mismatch(edited({ [key]: null }));
    expect(e.key).toBe(key);
    expect(e.message).toMatch(/missing/);
  });

  it("names an unknown key, and a layer the config does not have", () => {
    const extra = mismatch(
      edited({ [`${LM}backbone.layers.0.mixer.extra_bias`]: f32([1], new Float32Array(1)) }),
    );
    expect(extra.key).toBe(`${LM}backbone.layers.0.mixer.extra_bias`);
    expect(extra.message).toMatch(/unknown/);
    const layer = mismatch(
      edited({ [`${LM}backbone.layers.${N}.norm.weight`]: f32([D], new Float32Array(D)) }),
    );
    expect(layer.key).toBe(`${LM}backbone.layers.${N}.norm.weight`);
    expect(layer.message).toContain(`unknown: a model with d_model ${D}, n_layer ${N}`);
  });

  it("names a shape that does not match the config", () => {
    const e = mismatch(edited({}), resolveMambaConfig({ ...CONFIG, dState: CONFIG.dState === 8 ? 16 : 8 }));
    expect(e.key).toMatch(/mixer\.(A_log|x_proj\.weight)$/);
    expect(e.message).toMatch(/shape \[\d+,\d+\] does not match \[\d+,\d+\] expected from the config/);
    // The unpadded vocabulary (cobra-tiny: 50277 of 50280 rows), or one row short if the set needs no padding.
    const rows = CONFIG.vocabSize !== VOCAB ? CONFIG.vocabSize : VOCAB - 1;
    const vocab = mismatch(
      edited({ [`${LM}backbone.embedding.weight`]: f32([rows, D], new Float32Array(rows * D)) }),
    );
    expect(vocab.message).toContain(`shape [${rows},${D}] does not match [${VOCAB},${D}]`);
  });

  it("refuses integer tensors, files without a Mamba LM, and files with two", () => {
    const ints = mismatch(
      edited({
        [`${LM}backbone.layers.0.mixer.D`]: { dtype: "I32", shape: [dInner], data: new Int32Array(dInner) },
      }),
    );
    expect(ints.message).toMatch(/dtype I32/);
    expect(() =>
      locateMambaWeights(new MemoryWeights(new Map([["foo.weight", f32([1], new Float32Array(1))]]))),
    ).toThrow(/holds no Mamba embedding/);
    const two = edited({ "other.backbone.embedding.weight": f32([VOCAB, D], new Float32Array(VOCAB * D)) });
    expect(() => locateMambaWeights(two)).toThrow(/2 Mamba embeddings/);
    expect(locateMambaWeights(two, LM).root).toBe(LM);
  });

  it("conversion refuses bad weights before writing anything", async () => {
    await expect(
      buildLanguageModel(edited({ [`${LM}backbone.norm_f.weight`]: null }), fixtureConfig()),
    ).rejects.toThrow(WeightsMismatchError);
  });
});

describe("other naming schemes give the same model", () => {
  const config = resolveMambaConfig({ dModel: 32, nLayer: 2, vocabSize: 1000, dState: 8, expand: 2 });
  let reference: MambaLM;
  const ids = [1, 5, 900, 7, 3];
  beforeAll(async () => {
    reference = await MambaLM.load({
      model: (await buildLanguageModel(syntheticMambaSource(config, { root: "" }), config)).model,
    });
  });
  afterAll(() => reference?.release());

  it.each([
    ["state-spaces (backbone.embedding)", { root: "", dialect: "mamba_ssm" }],
    ["HF transformers MambaForCausalLM (backbone.embeddings)", { root: "", dialect: "transformers" }],
    ["a Cobra llm_backbone state dict (llm.backbone.*)", { root: "llm.", dialect: "mamba_ssm" }],
  ] as const)("%s", async (_what, naming) => {
    const source = syntheticMambaSource(config, naming);
    const weights = MambaWeights.from(source);
    expect(weights.layout.dialect).toBe(naming.dialect);
    const lm = await MambaLM.load({ model: (await buildLanguageModel(source, config)).model });
    const a = await lm.prefill({ ids });
    const b = await reference.prefill({ ids });
    expect(maxAbsDiff(a.logits.data, b.logits.data)).toBe(0);
    await lm.release();
  });

  it("an untied lm_head is used as the head; without a config the shapes are enough", async () => {
    const untied = resolveMambaConfig({ ...config, tieEmbeddings: false });
    const source = syntheticMambaSource(untied, { seed: 3 });
    const lm = await MambaLM.load({ model: (await buildLanguageModel(source)).model });
    const tiedSource = new MemoryWeights(
      new Map([...source.tensors].filter(([k]) => k !== "lm_head.weight")),
    );
    const tied = await MambaLM.load({ model: (await buildLanguageModel(tiedSource)).model });
    const [a, b] = [await lm.prefill({ ids }), await tied.prefill({ ids })];
    expect(a.logits.shape).toEqual([1, 1000]);
    expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeGreaterThan(1e-3);
    await Promise.all([lm.release(), tied.release()]);
  });
});
