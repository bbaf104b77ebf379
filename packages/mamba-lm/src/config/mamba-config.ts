import { ConfigError } from "@cobra-ts/core";

/**
 * The architecture of a Mamba-1 language model, with every derived size spelled out so that no other module
 * recomputes them. Field names follow mamba_ssm (`d_model`, `n_layer`, ...) in camelCase.
 */
export interface MambaConfig {
  dModel: number;
  nLayer: number;
  /** The tokenizer's vocabulary size as the config states it (50277 for GPT-NeoX). */
  vocabSize: number;
  padVocabSizeMultiple: number;
  /** Rows of the embedding and lm_head: vocabSize rounded up to padVocabSizeMultiple (50280). */
  vocabSizePadded: number;
  /** N, the SSM state size per channel. */
  dState: number;
  /** Width of the causal depthwise convolution. */
  dConv: number;
  expand: number;
  /** int(expand * dModel) (HF `intermediate_size`). */
  dInner: number;
  /** R, the rank of the dt projection (ceil(dModel / 16) when "auto"). */
  dtRank: number;
  /** Bias on in_proj / out_proj (mamba_ssm `bias`, HF `use_bias`). */
  bias: boolean;
  /** Bias on conv1d (mamba_ssm `conv_bias`, HF `use_conv_bias`). */
  convBias: boolean;
  /** RMSNorm (true, every released Mamba) or LayerNorm with bias (false). */
  rmsNorm: boolean;
  normEps: number;
  /** lm_head shares the embedding matrix (mamba_ssm ties always in 1.x; HF `tie_word_embeddings`). */
  tieEmbeddings: boolean;
}

/** The fields a caller must give; everything else has mamba_ssm's defaults. */
export type MambaConfigInput = Pick<MambaConfig, "dModel" | "nLayer" | "vocabSize"> &
  Partial<Omit<MambaConfig, "vocabSizePadded" | "dtRank">> & { dtRank?: number | "auto" };

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    throw new ConfigError(`mamba config: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Fills defaults, derives sizes and checks every field; throws ConfigError naming the bad field. */
export function resolveMambaConfig(input: MambaConfigInput): MambaConfig {
  const dModel = positiveInt("d_model", input.dModel);
  const expand = input.expand ?? 2;
  if (typeof expand !== "number" || !(expand > 0))
    throw new ConfigError(`mamba config: expand must be a positive number, got ${JSON.stringify(expand)}`);
  // HF configs state intermediate_size; mamba_ssm computes int(expand * d_model).
  const dInner = positiveInt("d_inner", input.dInner ?? Math.floor(expand * dModel));
  const padVocabSizeMultiple = positiveInt("pad_vocab_size_multiple", input.padVocabSizeMultiple ?? 8);
  const vocabSize = positiveInt("vocab_size", input.vocabSize);
  const dtRank =
    input.dtRank === undefined || input.dtRank === "auto"
      ? Math.ceil(dModel / 16)
      : positiveInt("dt_rank", input.dtRank);
  // The conv state carries d_conv - 1 inputs; a width-1 "conv" would leave a zero-size state tensor.
  const dConv = positiveInt("d_conv", input.dConv ?? 4);
  if (dConv < 2) throw new ConfigError(`mamba config: d_conv must be at least 2, got ${dConv}`);
  const normEps = input.normEps ?? 1e-5;
  if (typeof normEps !== "number" || !(normEps > 0))
    throw new ConfigError(
      `mamba config: norm epsilon must be a positive number, got ${JSON.stringify(normEps)}`,
    );
  for (const flag of ["bias", "convBias", "rmsNorm", "tieEmbeddings"] as const) {
    const v = input[flag];
    if (v !== undefined && typeof v !== "boolean")
      throw new ConfigError(`mamba config: ${flag} must be a boolean, got ${JSON.stringify(v)}`);
  }
  return {
    dModel,
    nLayer: positiveInt("n_layer", input.nLayer),
    vocabSize,
    padVocabSizeMultiple,
    vocabSizePadded: Math.ceil(vocabSize / padVocabSizeMultiple) * padVocabSizeMultiple,
    dState: positiveInt("d_state", input.dState ?? 16),
    dConv,
    expand,
    dInner,
    dtRank,
    bias: input.bias ?? false,
    convBias: input.convBias ?? true,
    rmsNorm: input.rmsNorm ?? true,
    normEps,
    tieEmbeddings: input.tieEmbeddings ?? true,
  };
}

/** Floats held by one recurrent state: per layer and sequence, conv (dConv - 1 inputs) + ssm (N) per channel. */
export function stateFloatsPerSequence(config: MambaConfig): number {
  return config.nLayer * config.dInner * (config.dConv - 1 + config.dState);
}
