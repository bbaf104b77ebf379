import {
  emitQuantizedMatMul,
  GraphBuilder,
  type InitializerSink,
  type LinearQuantization,
  storeFloatWeight,
  type WeightSource,
} from "@cobra-ts/core";
import type { VitConfig } from "./config.js";
import { resampleAbsPosEmbed } from "./resample-pos-embed.js";
import { posEmbedPrefixRows, timmTrunk, validateVitWeights } from "./weights.js";

/** Graph input: float32 [batch, 3, imageSize, imageSize], already normalized. */
export const VIT_PIXELS_INPUT = "pixels";
/** Graph output: float32 [batch, numPatches, embedDim], the feature block's patch tokens. */
export const VIT_FEATURES_OUTPUT = "features";

const f = Math.fround;

/** [out, in] (torch Linear) -> [in, out], so the graph multiplies with a plain MatMul (and [in, out] back). */
export function transposeLinear(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

async function readF32(trunk: WeightSource, key: string): Promise<Float32Array> {
  return (await trunk.read(key)).data as Float32Array;
}

/** Initializer of the patches' position embeddings: pos_embed resampled to the grid, prefix rows dropped. */
export const POS_EMBED_PATCHES = "pos_embed_patches";
/** Initializer of [cls, reg0..] with their pos_embed rows added (only when the ViT has prefix tokens). */
export const PREFIX_TOKENS = "prefix_tokens";

/**
 * The fp32 values an encoder graph is made of, by the names its fp32 graph gives them, except that a Linear
 * weight is read as torch's [out, in] under `<prefix>.weight`: the trunk's tensors, POS_EMBED_PATCHES and
 * PREFIX_TOKENS. From a release (vitTensorsFromRelease) or from an fp32 graph written before (Node:
 * openConvertedVitTensors), so either writes the same graph at any dtype.
 */
export interface VitGraphTensors {
  readonly kind: "vit-graph-tensors";
  read(key: string): Promise<Float32Array>;
}

/** A release's weights as the graph's tensors, checked against `config` first (pos_embed resampled once). */
export function vitTensorsFromRelease(weights: WeightSource, config: VitConfig): VitGraphTensors {
  const trunk = timmTrunk(weights);
  validateVitWeights(trunk, config);
  const d = config.embedDim;
  const prefixRows = posEmbedPrefixRows(config);
  let posEmbed: Promise<Float32Array> | undefined;
  const resampled = () => {
    posEmbed ??= readF32(trunk, "pos_embed").then((p) =>
      resampleAbsPosEmbed(p, d, prefixRows, config.gridSize),
    );
    return posEmbed;
  };
  return {
    kind: "vit-graph-tensors",
    async read(key) {
      if (key === POS_EMBED_PATCHES) return (await resampled()).slice(prefixRows * d);
      if (key === PREFIX_TOKENS)
        return prefixTokens(trunk, config, (await resampled()).subarray(0, prefixRows * d));
      return readF32(trunk, key);
    },
  };
}

export interface VitGraphOptions {
  /**
   * How the Linear weights (qkv, proj, fc1, fc2) are stored; fp32 when absent or null. At fp16 the patch
   * embedding is float16 too; at q8 / q4 it stays fp32 (a Conv, 0.2% of the weights, and the first layer).
   */
  quantization?: LinearQuantization | null;
}

/**
 * timm v0.9.10 VisionTransformer up to `config.featureBlock`, as Cobra reads it:
 * `get_intermediate_layers(n={featureBlock})` -> that block's output without the prefix tokens, no final
 * norm. Later blocks, the final norm and the pooling head are not emitted. Weights are validated against the
 * config first, then read one tensor at a time into `sink` (pos_embed resampled to the grid here, once).
 */
export async function buildVitGraph(
  config: VitConfig,
  weights: WeightSource | VitGraphTensors,
  sink: InitializerSink,
  options: VitGraphOptions = {},
): Promise<GraphBuilder> {
  const tensors = "kind" in weights ? weights : vitTensorsFromRelease(weights, config);
  const g = new GraphBuilder(config.architecture);
  const { embedDim: d, numPatches: n, patchSize: p } = config;
  const q = options.quantization ?? null;
  const weight = async (key: string, dims: number[]) => sink(g, key, dims, await tensors.read(key));
  const linear = async (x: string, prefix: string, outDim: number, inDim: number, bias = true) => {
    const w = await tensors.read(`${prefix}.weight`);
    const y =
      q?.method === "matmul-nbits"
        ? await emitQuantizedMatMul(g, sink, x, `${prefix}.weight`, w, outDim, inDim, q)
        : g.op("MatMul", [
            x,
            await storeFloatWeight(
              g,
              sink,
              `${prefix}.weight_t`,
              [inDim, outDim],
              transposeLinear(w, outDim, inDim),
              q,
            ),
          ]);
    return bias ? g.op("Add", [y, await weight(`${prefix}.bias`, [outDim])]) : y;
  };

  const pixels = g.input(VIT_PIXELS_INPUT, "float32", ["batch", 3, config.imageSize, config.imageSize]);
  // The stride-p conv ignores trailing rows/cols that do not fill a patch (384 px: the last 6), as torch's does.
  const conv = g.op(
    "Conv",
    [
      pixels,
      await storeFloatWeight(
        g,
        sink,
        "patch_embed.proj.weight",
        [d, 3, p, p],
        await tensors.read("patch_embed.proj.weight"),
        q,
      ),
      await weight("patch_embed.proj.bias", [d]),
    ],
    {
      kernel_shape: [p, p],
      strides: [p, p],
    },
  );
  const patches = g.op("Transpose", [g.op("Reshape", [conv, g.constInt64([0, d, -1])])], { perm: [0, 2, 1] });

  let x = g.op("Add", [
    patches,
    await sink(g, POS_EMBED_PATCHES, [1, n, d], await tensors.read(POS_EMBED_PATCHES)),
  ]);
  if (config.numPrefixTokens > 0) {
    const batch = g.op("Shape", [pixels], { start: 0, end: 1 });
    const shape = g.op("Concat", [batch, g.constInt64([config.numPrefixTokens, d])], { axis: 0 });
    const tokens = g.op("Expand", [
      await sink(g, PREFIX_TOKENS, [1, config.numPrefixTokens, d], await tensors.read(PREFIX_TOKENS)),
      shape,
    ]);
    x = g.op("Concat", [tokens, x], { axis: 1 });
  }

  for (let i = 0; i <= config.featureBlock; i++) x = await block(g, x, `blocks.${i}`, config, weight, linear);

  const features =
    config.numPrefixTokens > 0
      ? g.op("Slice", [
          x,
          g.constInt64([config.numPrefixTokens]),
          g.constInt64([config.numPrefixTokens + n]),
          g.constInt64([1]),
        ])
      : x;
  g.output(features, "float32", ["batch", n, d], VIT_FEATURES_OUTPUT);
  return g;
}

/**
 * [cls, reg0..] as one constant. Without no_embed_class timm adds pos_embed after prepending them; adding
 * their pos_embed rows here does the same single float32 add.
 */
async function prefixTokens(
  trunk: WeightSource,
  config: VitConfig,
  prefixPosEmbed: Float32Array,
): Promise<Float32Array> {
  const d = config.embedDim;
  const out = new Float32Array(config.numPrefixTokens * d);
  if (config.classToken) out.set(await readF32(trunk, "cls_token"));
  if (config.regTokens > 0) out.set(await readF32(trunk, "reg_token"), config.classToken ? d : 0);
  for (let i = 0; i < prefixPosEmbed.length; i++) out[i] = f(out[i] + prefixPosEmbed[i]);
  return out;
}

type WeightFn = (key: string, dims: number[]) => Promise<string>;
type LinearFn = (x: string, prefix: string, outDim: number, inDim: number, bias?: boolean) => Promise<string>;

/** x + ls1(attn(norm1(x))), then + ls2(mlp(norm2(x))); LayerScale only where the config has it. */
async function block(
  g: GraphBuilder,
  x: string,
  b: string,
  config: VitConfig,
  weight: WeightFn,
  linear: LinearFn,
): Promise<string> {
  const d = config.embedDim;
  const norm = async (v: string, name: string) =>
    g.op(
      "LayerNormalization",
      [v, await weight(`${b}.${name}.weight`, [d]), await weight(`${b}.${name}.bias`, [d])],
      {
        axis: -1,
        epsilon: config.layerNormEps,
      },
    );
  const scaled = async (v: string, ls: string) =>
    config.layerScale ? g.op("Mul", [v, await weight(`${b}.${ls}.gamma`, [d])]) : v;

  const attn = await attention(g, await norm(x, "norm1"), `${b}.attn`, config, linear);
  x = g.op("Add", [x, await scaled(attn, "ls1")]);
  const hidden = gelu(g, await linear(await norm(x, "norm2"), `${b}.mlp.fc1`, config.mlpHidden, d));
  const mlp = await linear(hidden, `${b}.mlp.fc2`, d, config.mlpHidden);
  return g.op("Add", [x, await scaled(mlp, "ls2")]);
}

/** timm Attention (non-fused path): softmax((q * head_dim^-0.5) k^T) v over heads, then proj. */
async function attention(
  g: GraphBuilder,
  x: string,
  prefix: string,
  config: VitConfig,
  linear: LinearFn,
): Promise<string> {
  const { embedDim: d, numHeads: h, headDim: hd } = config;
  const qkv = await linear(x, `${prefix}.qkv`, 3 * d, d, config.qkvBias);
  const [q, k, v] = g.opMulti("Split", [qkv, g.constInt64([d, d, d])], 3, { axis: 2 });
  const heads = g.constInt64([0, 0, h, hd]);
  const split = (t: string, perm: number[]) => g.op("Transpose", [g.op("Reshape", [t, heads])], { perm });
  const qs = g.op("Mul", [split(q, [0, 2, 1, 3]), g.constFloat([hd ** -0.5], [])]);
  const scores = g.op("MatMul", [qs, split(k, [0, 2, 3, 1])]);
  const probs = g.op("Softmax", [scores], { axis: -1 });
  const ctx = g.op("MatMul", [probs, split(v, [0, 2, 1, 3])]);
  const merged = g.op("Reshape", [g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }), g.constInt64([0, 0, d])]);
  return linear(merged, `${prefix}.proj`, d, d);
}

/** Exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)): opset-17 ops in the pattern onnxruntime fuses into one Gelu. */
function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op("Erf", [g.op("Div", [x, g.constFloat([Math.SQRT2], [])])]);
  const onePlus = g.op("Add", [erf, g.constFloat([1], [])]);
  return g.op("Mul", [g.op("Mul", [x, onePlus]), g.constFloat([0.5], [])]);
}
