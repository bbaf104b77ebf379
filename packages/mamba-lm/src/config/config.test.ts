import { ConfigError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { fixtureConfig, manifestLlmDims, openCheckpoint, readLlmFile } from "../test-support/fixture.js";
import { MambaWeights } from "../weights/mamba-weights.js";
import { parseMambaConfig } from "./from-json.js";
import { inferMambaConfig, inferTiedMambaConfig } from "./from-weights.js";
import { stateFloatsPerSequence } from "./mamba-config.js";

describe("Mamba config", () => {
  it("reads the mamba_ssm config.json of the fixture (xiuyul/mamba-2.8b-zephyr layout), padding the vocabulary", () => {
    // Expected: the oracle's record of the LM it built (manifest dims.llm), and the file's own fields.
    const d = manifestLlmDims();
    const json = JSON.parse(readLlmFile("config.json"));
    const multiple = json.pad_vocab_size_multiple ?? 8;
    expect(fixtureConfig()).toEqual({
      dModel: d.d_model,
      nLayer: d.n_layer,
      vocabSize: d.vocab_size_config,
      padVocabSizeMultiple: multiple,
      vocabSizePadded: d.vocab_size_padded,
      dState: d.d_state,
      dConv: d.d_conv,
      expand: d.expand,
      dInner: d.d_inner,
      dtRank: d.dt_rank,
      bias: false,
      convBias: true,
      rmsNorm: true,
      normEps: d.rms_norm_eps,
      tieEmbeddings: true,
    });
    expect(d.d_inner).toBe(d.expand * d.d_model);
    expect(d.vocab_size_padded).toBe(Math.ceil(d.vocab_size_config / multiple) * multiple);
    expect(d.dt_rank).toBe(Math.ceil(d.d_model / 16));
    expect(stateFloatsPerSequence(fixtureConfig())).toBe(d.n_layer * d.d_inner * (d.d_conv - 1 + d.d_state));
  });

  it("the real mamba-2.8b-zephyr config gives the documented sizes", () => {
    const c = parseMambaConfig({
      d_model: 2560,
      n_layer: 64,
      vocab_size: 50277,
      ssm_cfg: {},
      rms_norm: true,
      residual_in_fp32: true,
      fused_add_norm: true,
      pad_vocab_size_multiple: 8,
    });
    expect([c.dInner, c.dtRank, c.vocabSizePadded, c.dState, c.dConv]).toEqual([5120, 160, 50280, 16, 4]);
  });

  it("applies ssm_cfg overrides and mamba_ssm 2.x fields", () => {
    const c = parseMambaConfig({
      d_model: 64,
      n_layer: 2,
      vocab_size: 1000,
      pad_vocab_size_multiple: 16,
      ssm_cfg: {
        d_state: 8,
        d_conv: 3,
        expand: 3,
        dt_rank: 5,
        bias: true,
        conv_bias: false,
        dt_min: 0.01,
        layer: "Mamba1",
      },
      d_intermediate: 0,
      attn_layer_idx: [],
      tie_embeddings: false,
    });
    expect(c).toMatchObject({
      dState: 8,
      dConv: 3,
      expand: 3,
      dInner: 192,
      dtRank: 5,
      bias: true,
      convBias: false,
      vocabSizePadded: 1008,
      tieEmbeddings: false,
    });
  });

  it("reads HF transformers MambaConfig (state-spaces/mamba-*-hf)", () => {
    const c = parseMambaConfig({
      model_type: "mamba",
      hidden_size: 768,
      num_hidden_layers: 24,
      vocab_size: 50280,
      state_size: 16,
      conv_kernel: 4,
      expand: 2,
      intermediate_size: 1536,
      time_step_rank: 48,
      layer_norm_epsilon: 1e-5,
      use_bias: false,
      use_conv_bias: true,
      hidden_act: "silu",
      tie_word_embeddings: true,
    });
    expect(c).toMatchObject({
      dModel: 768,
      nLayer: 24,
      dInner: 1536,
      dtRank: 48,
      vocabSizePadded: 50280,
      bias: false,
      tieEmbeddings: true,
    });
  });

  it.each([
    [{ d_model: 16, n_layer: 2, vocab_size: 10, ssm_cfg: { layer: "Mamba2" } }, /Mamba2/],
    [{ d_model: 16, n_layer: 2, vocab_size: 10, ssm_cfg: { headdim: 64 } }, /ssm_cfg.headdim/],
    [{ d_model: 16, n_layer: 2, vocab_size: 10, attn_layer_idx: [1] }, /attention/],
    [{ d_model: 16, n_layer: 0, vocab_size: 10 }, /n_layer must be a positive integer/],
    [{ d_model: 16, n_layer: 2 }, /vocab_size/],
    [{ d_model: 16, n_layer: 2, vocab_size: 10, ssm_cfg: { d_conv: 1 } }, /d_conv must be at least 2/],
    [{ hidden_size: 16, num_hidden_layers: 2, vocab_size: 10, model_type: "mamba2" }, /not a Mamba-1/],
    [{ hidden: 1 }, /neither/],
    ["nope", /JSON object/],
  ])("refuses %j with ConfigError", (json, message) => {
    expect(() => parseMambaConfig(json)).toThrow(ConfigError);
    expect(() => parseMambaConfig(json)).toThrow(message);
  });

  it("infers the config from the Cobra checkpoint's shapes; a stored lm_head equal to the embedding counts as tied", async () => {
    const source = await openCheckpoint();
    const weights = MambaWeights.from(source);
    const fromShapes = inferMambaConfig(weights);
    const d = manifestLlmDims();
    expect(fromShapes).toMatchObject({
      dModel: d.d_model,
      nLayer: d.n_layer,
      dInner: d.d_inner,
      dState: d.d_state,
      dConv: d.d_conv,
      dtRank: d.dt_rank,
      vocabSizePadded: d.vocab_size_padded,
      tieEmbeddings: false,
    });
    expect(await inferTiedMambaConfig(weights)).toEqual({ ...fromShapes, tieEmbeddings: true });
    await source.close();
  });
});
