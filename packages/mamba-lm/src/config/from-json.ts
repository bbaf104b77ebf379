import { ConfigError } from "@cobra-ts/core";
import { type MambaConfig, type MambaConfigInput, resolveMambaConfig } from "./mamba-config.js";

type Json = Record<string, unknown>;

/** ssm_cfg keys that only steer initialization or kernels: they do not change the inference graph. */
const INIT_ONLY_SSM_KEYS = new Set([
  "dt_min",
  "dt_max",
  "dt_init",
  "dt_scale",
  "dt_init_floor",
  "use_fast_path",
  "layer_idx",
  "device",
  "dtype",
]);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads a Mamba-1 `config.json` in either dialect: mamba_ssm (`d_model`, `n_layer`, `ssm_cfg`, used by
 * state-spaces/mamba-*, xiuyul/mamba-2.8b-zephyr and Cobra's LLM) or HF transformers `MambaConfig`
 * (`hidden_size`, `num_hidden_layers`, `state_size`, ...). Anything this runtime cannot run (Mamba-2 layers,
 * attention or MLP layers) is refused with ConfigError rather than silently mis-built.
 */
export function parseMambaConfig(json: unknown): MambaConfig {
  if (!isObject(json)) throw new ConfigError("mamba config: expected a JSON object");
  if ("d_model" in json) return resolveMambaConfig(fromMambaSsm(json));
  if ("hidden_size" in json) return resolveMambaConfig(fromTransformers(json));
  throw new ConfigError(
    "mamba config: neither mamba_ssm (d_model, n_layer) nor HF transformers (hidden_size, num_hidden_layers) fields found",
  );
}

function fromMambaSsm(json: Json): MambaConfigInput {
  const ssm = json.ssm_cfg ?? {};
  if (!isObject(ssm)) throw new ConfigError("mamba config: ssm_cfg must be an object");
  if (ssm.layer !== undefined && ssm.layer !== "Mamba1")
    throw new ConfigError(
      `mamba config: ssm_cfg.layer "${String(ssm.layer)}" is not supported; only Mamba1 layers run here`,
    );
  const known = new Set([
    "d_state",
    "d_conv",
    "expand",
    "dt_rank",
    "bias",
    "conv_bias",
    "layer",
    ...INIT_ONLY_SSM_KEYS,
  ]);
  for (const k of Object.keys(ssm))
    if (!known.has(k)) throw new ConfigError(`mamba config: ssm_cfg.${k} is not understood by this runtime`);
  if (typeof json.d_intermediate === "number" && json.d_intermediate !== 0)
    throw new ConfigError("mamba config: d_intermediate > 0 (MLP layers) is not supported");
  if (Array.isArray(json.attn_layer_idx) && json.attn_layer_idx.length > 0)
    throw new ConfigError("mamba config: attention layers (attn_layer_idx) are not supported");
  return {
    dModel: json.d_model as number,
    nLayer: json.n_layer as number,
    vocabSize: json.vocab_size as number,
    padVocabSizeMultiple: json.pad_vocab_size_multiple as number | undefined,
    dState: ssm.d_state as number | undefined,
    dConv: ssm.d_conv as number | undefined,
    expand: ssm.expand as number | undefined,
    dtRank: ssm.dt_rank as number | "auto" | undefined,
    bias: ssm.bias as boolean | undefined,
    convBias: ssm.conv_bias as boolean | undefined,
    rmsNorm: json.rms_norm as boolean | undefined,
    normEps: (json.norm_epsilon ?? json.layer_norm_epsilon) as number | undefined,
    tieEmbeddings: json.tie_embeddings as boolean | undefined,
  };
}

function fromTransformers(json: Json): MambaConfigInput {
  if (json.model_type !== undefined && json.model_type !== "mamba")
    throw new ConfigError(`mamba config: model_type "${String(json.model_type)}" is not a Mamba-1 model`);
  if (json.hidden_act !== undefined && json.hidden_act !== "silu")
    throw new ConfigError(
      `mamba config: hidden_act "${String(json.hidden_act)}" is not supported (silu only)`,
    );
  return {
    dModel: json.hidden_size as number,
    nLayer: json.num_hidden_layers as number,
    vocabSize: json.vocab_size as number,
    // transformers does not pad the vocabulary; its checkpoints store the padded size as vocab_size.
    padVocabSizeMultiple: (json.pad_vocab_size_multiple as number | undefined) ?? 1,
    dState: json.state_size as number | undefined,
    dConv: json.conv_kernel as number | undefined,
    expand: json.expand as number | undefined,
    dInner: json.intermediate_size as number | undefined,
    dtRank: json.time_step_rank as number | "auto" | undefined,
    // transformers' default is use_bias=True, but its Mamba checkpoints all set it false explicitly.
    bias: (json.use_bias as boolean | undefined) ?? true,
    convBias: json.use_conv_bias as boolean | undefined,
    rmsNorm: true,
    normEps: json.layer_norm_epsilon as number | undefined,
    tieEmbeddings: (json.tie_word_embeddings as boolean | undefined) ?? true,
  };
}
