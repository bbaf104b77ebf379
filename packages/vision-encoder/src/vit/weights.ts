import { type WeightSource, WeightsMismatchError, withPrefix } from "@cobra-ts/core";
import type { VitConfig } from "./config.js";

/** Trunk keys Cobra's features never touch (final norm, pooling heads, classifier): accepted unchecked. */
const UNUSED_HEAD_PREFIXES = ["norm.", "fc_norm.", "head.", "attn_pool."];

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/** Prefix under which open_clip stores a timm vision tower; timm's checkpoint_filter_fn strips it the same way. */
export const OPEN_CLIP_TRUNK_PREFIX = "visual.trunk.";

/** The timm trunk inside `source`: open_clip checkpoints keep it under `visual.trunk.` (text tower etc. dropped). */
export function timmTrunk(source: WeightSource): WeightSource {
  return source.has(`${OPEN_CLIP_TRUNK_PREFIX}pos_embed`)
    ? withPrefix(source, OPEN_CLIP_TRUNK_PREFIX)
    : source;
}

/** Every tensor a timm ViT of this config has (heads excepted), with its shape. pos_embed is checked apart. */
export function expectedVitTensors(config: VitConfig): Map<string, number[]> {
  const { embedDim: d, patchSize: p, mlpHidden: h } = config;
  const shapes = new Map<string, number[]>([
    ["patch_embed.proj.weight", [d, 3, p, p]],
    ["patch_embed.proj.bias", [d]],
  ]);
  if (config.classToken) shapes.set("cls_token", [1, 1, d]);
  if (config.regTokens > 0) shapes.set("reg_token", [1, config.regTokens, d]);
  for (let i = 0; i < config.depth; i++) {
    const b = `blocks.${i}.`;
    shapes.set(`${b}norm1.weight`, [d]).set(`${b}norm1.bias`, [d]);
    shapes.set(`${b}attn.qkv.weight`, [3 * d, d]);
    if (config.qkvBias) shapes.set(`${b}attn.qkv.bias`, [3 * d]);
    shapes.set(`${b}attn.proj.weight`, [d, d]).set(`${b}attn.proj.bias`, [d]);
    shapes.set(`${b}norm2.weight`, [d]).set(`${b}norm2.bias`, [d]);
    shapes.set(`${b}mlp.fc1.weight`, [h, d]).set(`${b}mlp.fc1.bias`, [h]);
    shapes.set(`${b}mlp.fc2.weight`, [d, h]).set(`${b}mlp.fc2.bias`, [d]);
    if (config.layerScale) shapes.set(`${b}ls1.gamma`, [d]).set(`${b}ls2.gamma`, [d]);
  }
  return shapes;
}

/** Rows of pos_embed that belong to prefix tokens (timm: none when no_embed_class). */
export function posEmbedPrefixRows(config: VitConfig): number {
  return config.noEmbedClass ? 0 : config.numPrefixTokens;
}

const fmt = (shape: readonly number[]) => `[${shape.join(",")}]`;

/**
 * Checks a timm trunk against the config before anything is read: every tensor present, floating point,
 * with the shape the config implies. Returns the side of the stored pos_embed grid (resampled later).
 */
export function validateVitWeights(trunk: WeightSource, config: VitConfig): { posEmbedGrid: number } {
  const expected = expectedVitTensors(config);
  const where = `(${config.architecture}, ${trunk.path})`;
  for (const [key, shape] of expected) {
    if (!trunk.has(key))
      throw new WeightsMismatchError(
        key,
        `missing from the weights, but the config implies ${fmt(shape)} ${where}`,
      );
    const info = trunk.info(key);
    if (!FLOAT_DTYPES.has(info.dtype))
      throw new WeightsMismatchError(
        key,
        `stored as ${info.dtype}; a floating point tensor is needed ${where}`,
      );
    if (fmt(info.shape) !== fmt(shape))
      throw new WeightsMismatchError(
        key,
        `shape ${fmt(info.shape)} but the config implies ${fmt(shape)} ${where}`,
      );
  }
  for (const key of trunk.keys())
    if (!expected.has(key) && key !== "pos_embed" && !UNUSED_HEAD_PREFIXES.some((p) => key.startsWith(p)))
      throw new WeightsMismatchError(
        key,
        `is not part of a ${config.architecture} trunk of depth ${config.depth} ${where}`,
      );
  return { posEmbedGrid: checkPosEmbed(trunk, config, where) };
}

function checkPosEmbed(trunk: WeightSource, config: VitConfig, where: string): number {
  const prefix = posEmbedPrefixRows(config);
  const nativeGrid = Math.floor(config.pretrainedImageSize / config.patchSize);
  const implied = [1, prefix + nativeGrid * nativeGrid, config.embedDim];
  const hint = `${fmt(implied)} (a square grid of patches${prefix ? ` after ${prefix} prefix rows` : ""}; ${nativeGrid}x${nativeGrid} at ${config.pretrainedImageSize} px)`;
  if (!trunk.has("pos_embed"))
    throw new WeightsMismatchError(
      "pos_embed",
      `missing from the weights, but the config implies ${hint} ${where}`,
    );
  const { shape, dtype } = trunk.info("pos_embed");
  if (!FLOAT_DTYPES.has(dtype))
    throw new WeightsMismatchError(
      "pos_embed",
      `stored as ${dtype}; a floating point tensor is needed ${where}`,
    );
  const grid = shape.length === 3 ? Math.round(Math.sqrt(shape[1] - prefix)) : -1;
  if (
    shape.length !== 3 ||
    shape[0] !== 1 ||
    shape[2] !== config.embedDim ||
    grid < 1 ||
    grid * grid !== shape[1] - prefix
  )
    throw new WeightsMismatchError(
      "pos_embed",
      `shape ${fmt(shape)} but the config implies ${hint} ${where}`,
    );
  return grid;
}
