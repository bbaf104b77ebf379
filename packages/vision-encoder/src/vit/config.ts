import { ConfigError } from "@cobra-ts/core";
import {
  stripPretrainedTag,
  TIMM_VIT_ARCHITECTURES,
  TIMM_VIT_DEFAULTS,
  type TimmDataConfig,
  type TimmVitArgs,
} from "./timm-architectures.js";

/** Everything the ViT graph needs, resolved from a timm / open_clip config plus how Cobra builds it. */
export interface VitConfig {
  /** The timm model name the config names (pretrained tag kept if it had one). */
  architecture: string;
  patchSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  headDim: number;
  /** `int(embed_dim * mlp_ratio)`, as timm's Block computes it. */
  mlpHidden: number;
  qkvBias: boolean;
  /** LayerScale present (timm `init_values` set): blocks scale each branch by ls1/ls2 gamma. */
  layerScale: boolean;
  classToken: boolean;
  regTokens: number;
  /** cls + register tokens prepended to the patches (dropped from the features). */
  numPrefixTokens: number;
  /** pos_embed covers the patches only (added before the prefix tokens are prepended). */
  noEmbedClass: boolean;
  globalPool: TimmVitArgs["global_pool"];
  layerNormEps: number;
  /** Image size the released weights were trained at (their pos_embed grid); informational. */
  pretrainedImageSize: number;
  /** Image size the encoder runs at (Cobra: 384); pixels beyond a whole patch are ignored by the conv. */
  imageSize: number;
  /** Patches per side: floor(imageSize / patchSize). */
  gridSize: number;
  numPatches: number;
  /** 0-based block whose output is the feature (Cobra: depth - 2, `get_intermediate_layers(n={depth-2})`). */
  featureBlock: number;
  /** What the input pixels must be normalized with. */
  data: TimmDataConfig;
}

export interface VitBuildOptions {
  /** Image size to build for (timm `img_size`); Cobra uses 384. Default: 384. */
  imageSize?: number;
  /** Block whose output is returned; default depth - 2 (second-to-last, as Cobra's featurizer). */
  featureBlock?: number;
}

/** model_args keys that change nothing at inference (dropout rates, init schemes, head size). */
const INERT_ARGS = new Set([
  "drop_rate",
  "pos_drop_rate",
  "patch_drop_rate",
  "proj_drop_rate",
  "attn_drop_rate",
  "drop_path_rate",
  "weight_init",
  "num_classes",
  "fc_norm",
]);

/**
 * Merges the registered entry point's arguments with `model_args` (timm: `dict(model_args, **kwargs)`) and
 * derives the graph config. Unknown architectures are accepted only with model_args (over timm's defaults).
 */
export function resolveVitConfig(
  architecture: string,
  modelArgs: Record<string, unknown> | undefined,
  options: VitBuildOptions & { data?: Partial<TimmDataConfig>; pretrainedImageSize?: number } = {},
): VitConfig {
  const known = TIMM_VIT_ARCHITECTURES[stripPretrainedTag(architecture)];
  if (!known && !modelArgs)
    throw new ConfigError(
      `unknown ViT architecture "${architecture}" and no model_args to build it from; known: ${Object.keys(TIMM_VIT_ARCHITECTURES).join(", ")}`,
    );
  const args = mergeArgs(architecture, known?.args ?? TIMM_VIT_DEFAULTS, modelArgs ?? {});
  const imageSize = options.imageSize ?? 384;
  const { embed_dim: embedDim, num_heads: numHeads, depth, patch_size: patchSize } = args;
  if (embedDim % numHeads !== 0)
    throw new ConfigError(`${architecture}: embed_dim ${embedDim} is not divisible by num_heads ${numHeads}`);
  if (!args.class_token && args.global_pool === "token")
    throw new ConfigError(`${architecture}: global_pool "token" needs a class token (timm asserts the same)`);
  if (!Number.isInteger(imageSize) || imageSize < patchSize)
    throw new ConfigError(`image size ${imageSize} is smaller than one ${patchSize}px patch`);
  const featureBlock = options.featureBlock ?? depth - 2;
  if (!Number.isInteger(featureBlock) || featureBlock < 0 || featureBlock >= depth)
    throw new ConfigError(`${architecture}: feature block ${featureBlock} is outside 0..${depth - 1}`);
  const gridSize = Math.floor(imageSize / patchSize);
  const numPrefixTokens = (args.class_token ? 1 : 0) + args.reg_tokens;
  const data = known?.data;
  return {
    architecture,
    patchSize,
    embedDim,
    depth,
    numHeads,
    headDim: embedDim / numHeads,
    mlpHidden: Math.trunc(embedDim * args.mlp_ratio),
    qkvBias: args.qkv_bias,
    layerScale: args.init_values !== null && args.init_values !== 0,
    classToken: args.class_token,
    regTokens: args.reg_tokens,
    numPrefixTokens,
    noEmbedClass: args.no_embed_class,
    globalPool: args.global_pool,
    layerNormEps: 1e-6,
    pretrainedImageSize: options.pretrainedImageSize ?? args.img_size,
    imageSize,
    gridSize,
    numPatches: gridSize * gridSize,
    featureBlock,
    data: {
      mean: options.data?.mean ?? data?.mean ?? [0.5, 0.5, 0.5],
      std: options.data?.std ?? data?.std ?? [0.5, 0.5, 0.5],
      interpolation: options.data?.interpolation ?? data?.interpolation ?? "bicubic",
    },
  };
}

function mergeArgs(architecture: string, base: TimmVitArgs, extra: Record<string, unknown>): TimmVitArgs {
  const out: TimmVitArgs = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const where = `${architecture} model_args.${key}`;
    switch (key) {
      case "patch_size":
      case "embed_dim":
      case "depth":
      case "num_heads":
      case "reg_tokens":
        out[key] = positiveInt(where, value, key === "reg_tokens");
        break;
      case "img_size":
        out.img_size = Array.isArray(value) ? squareSize(where, value) : positiveInt(where, value);
        break;
      case "mlp_ratio":
        if (typeof value !== "number" || !(value > 0))
          throw new ConfigError(`${where} must be a positive number, got ${JSON.stringify(value)}`);
        out.mlp_ratio = value;
        break;
      case "init_values":
        if (value !== null && typeof value !== "number")
          throw new ConfigError(`${where} must be a number or null`);
        out.init_values = value;
        break;
      case "qkv_bias":
      case "class_token":
      case "no_embed_class":
        if (typeof value !== "boolean") throw new ConfigError(`${where} must be true or false`);
        out[key] = value;
        break;
      case "global_pool":
        if (value !== "" && value !== "avg" && value !== "token" && value !== "map")
          throw new ConfigError(`${where} must be one of "", "avg", "token", "map"`);
        out.global_pool = value;
        break;
      case "in_chans":
        if (value !== 3) throw new ConfigError(`${where}: only 3-channel (RGB) inputs are supported`);
        break;
      case "qk_norm":
      case "pre_norm":
      case "dynamic_img_size":
      case "dynamic_img_pad":
        if (value !== false)
          throw new ConfigError(`${where}=${JSON.stringify(value)} is not supported by this ViT graph`);
        break;
      default:
        if (!INERT_ARGS.has(key))
          throw new ConfigError(
            `${where} is not supported by this ViT graph (it may change the architecture: mlp_layer, act_layer, ...)`,
          );
    }
  }
  return out;
}

export function positiveInt(where: string, value: unknown, allowZero = false): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < (allowZero ? 0 : 1))
    throw new ConfigError(
      `${where} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function squareSize(where: string, value: unknown[]): number {
  if (value.length !== 2 || value[0] !== value[1])
    throw new ConfigError(`${where}: only square sizes are supported, got ${JSON.stringify(value)}`);
  return positiveInt(where, value[0]);
}
