import { WeightsMismatchError } from "@cobra-ts/core";
import { EMBEDDING, LM_HEAD, type MambaWeights, NORM_F } from "../weights/mamba-weights.js";
import { type MambaConfig, resolveMambaConfig } from "./mamba-config.js";

/**
 * Reads the architecture off the tensor shapes when no config.json is at hand. What shapes cannot tell is
 * assumed as in mamba_ssm: RMSNorm eps 1e-5, and vocab_size = the embedding's rows (already padded). From the
 * headers alone a stored lm_head looks untied; inferTiedMambaConfig also compares the bytes.
 */
export function inferMambaConfig(weights: MambaWeights, normEps = 1e-5): MambaConfig {
  const shape = (name: string, rank: number): number[] => {
    if (!weights.has(name))
      throw new WeightsMismatchError(
        weights.sourceKey(name),
        `missing from ${weights.path}: needed to infer the config`,
      );
    const s = weights.info(name).shape;
    if (s.length !== rank)
      throw new WeightsMismatchError(
        weights.sourceKey(name),
        `expected a rank-${rank} tensor, got shape [${s}]`,
      );
    return s;
  };
  const [vocab, dModel] = shape(EMBEDDING, 2);
  let nLayer = 0;
  for (const key of weights.keys()) {
    const m = /^layers\.(\d+)\./.exec(key);
    if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1);
  }
  const [twoDInner] = shape("layers.0.mixer.in_proj.weight", 2);
  const [, dState] = shape("layers.0.mixer.A_log", 2);
  const [, , dConv] = shape("layers.0.mixer.conv1d.weight", 3);
  const [, dtRank] = shape("layers.0.mixer.dt_proj.weight", 2);
  return resolveMambaConfig({
    dModel,
    nLayer,
    vocabSize: vocab,
    padVocabSizeMultiple: 1,
    dInner: twoDInner / 2,
    expand: twoDInner / 2 / dModel,
    dState,
    dConv,
    dtRank,
    bias: weights.has("layers.0.mixer.in_proj.bias"),
    convBias: weights.has("layers.0.mixer.conv1d.bias"),
    rmsNorm: !weights.has(`${NORM_F}.bias`),
    normEps,
    tieEmbeddings: !weights.has(LM_HEAD),
  });
}

/**
 * inferMambaConfig, and a stored lm_head equal to the embedding counts as tied: mamba_ssm and Cobra save a
 * tied model with both keys (one storage), and tying keeps the weights once in the converted model.
 */
export async function inferTiedMambaConfig(weights: MambaWeights, normEps = 1e-5): Promise<MambaConfig> {
  const config = inferMambaConfig(weights, normEps);
  if (config.tieEmbeddings) return config;
  const embedding = (await weights.read(EMBEDDING)).data;
  const head = (await weights.read(LM_HEAD)).data;
  const same = embedding.length === head.length && embedding.every((v, i) => Object.is(v, head[i]));
  return same ? { ...config, tieEmbeddings: true } : config;
}
