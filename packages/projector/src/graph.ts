import {
  emitQuantizedMatMul,
  GraphBuilder,
  type InitializerSink,
  inlineInitializers,
  type LinearQuantization,
  linearQuantizationMetadata,
  type ModelOptions,
  serializeModel,
  storeFloatWeight,
  type WeightSource,
  WeightsMismatchError,
} from "@cobra-ts/core";
import { type ProjectorDims, type ProjectorLayer, projectedTokens, projectorLayers } from "./layers.js";
import { adaptiveAvgPoolMatrix } from "./pooling.js";
import { validateProjectorWeights } from "./validate.js";
import type { ProjectorVariant } from "./variants.js";

export const PROJECTOR_INPUT = "features";
export const PROJECTOR_OUTPUT = "projected";

export interface BuildProjectorOptions {
  /** Where weight bytes go; inline initializers unless given (see writeProjectorModel for external data). */
  sink?: InitializerSink;
  /** Graph name; "projector" unless given. */
  name?: string;
  /**
   * How the Linear weights are stored; fp32 when absent or null. The LDP variants' depthwise conv (PEG) stays
   * fp32 at q8 / q4 and is float16 at fp16.
   */
  quantization?: LinearQuantization | null;
}

/**
 * The projector as an ONNX graph: input `features` [batch, N, D] (N = 729 patches), output `projected`
 * [batch, P, d_model] (P = N, or 196 for the LDP variants). The weights are checked against the variant first,
 * so a mismatch fails before any tensor is read. Initializers keep the checkpoint's key names.
 */
export async function buildProjectorGraph(
  variant: ProjectorVariant,
  weights: WeightSource,
  dims?: ProjectorDims,
  options: BuildProjectorOptions = {},
): Promise<GraphBuilder> {
  const full = validateProjectorWeights(variant, weights, dims);
  const sink = options.sink ?? inlineInitializers;
  const g = new GraphBuilder(options.name ?? "projector");
  const features = g.input(PROJECTOR_INPUT, "float32", ["batch", full.numPatches, full.visionDim]);
  // Linear layers run as 2-D Gemm on [batch * tokens, C] rows (torch's [out, in] weights used as they are);
  // the LDP layers need the [batch, tokens, C] view back.
  let x: Activation = {
    value: features,
    layout: "tokens",
    tokens: full.numPatches,
    channels: full.visionDim,
  };
  const q = options.quantization ?? null;
  for (const layer of projectorLayers(variant, full)) x = await emitLayer(g, layer, x, weights, sink, q);
  const out = toTokens(g, x);
  g.output(out.value, "float32", ["batch", projectedTokens(variant, full), full.llmDim], PROJECTOR_OUTPUT);
  return g;
}

/** The projector as ONNX bytes with inline weights (fine up to protobuf's 2 GB; the released one is 191 MB in fp32). */
export async function projectorModelBytes(
  variant: ProjectorVariant,
  weights: WeightSource,
  dims?: ProjectorDims,
  options: Omit<BuildProjectorOptions, "sink"> = {},
): Promise<Uint8Array> {
  const g = await buildProjectorGraph(variant, weights, dims, options);
  return serializeModel(g, projectorModelOptions(variant, options.quantization));
}

/** A projector file's description and metadata (how its weights are stored: `cobra.dtype`, `cobra.quantization`). */
export function projectorModelOptions(
  variant: ProjectorVariant,
  quantization?: LinearQuantization | null,
): ModelOptions {
  return { docString: `Cobra projector "${variant}"`, metadata: linearQuantizationMetadata(quantization) };
}

interface Activation {
  value: string;
  layout: "rows" | "tokens";
  tokens: number;
  channels: number;
}

async function emitLayer(
  g: GraphBuilder,
  layer: ProjectorLayer,
  x: Activation,
  weights: WeightSource,
  sink: InitializerSink,
  q: LinearQuantization | null,
): Promise<Activation> {
  switch (layer.kind) {
    case "linear": {
      const { key, outFeatures: N, inFeatures: K } = layer;
      const w = await readWeight(weights, `${key}.weight`, [N, K]);
      const bias = await readWeight(weights, `${key}.bias`, [N]);
      const rows = toRows(g, x);
      // Weight before bias in the file, as the fp32 layout has always been written.
      if (q?.method === "matmul-nbits") {
        const y = await emitQuantizedMatMul(g, sink, rows.value, `${key}.weight`, w, N, K, q);
        return { ...rows, value: g.op("Add", [y, await sink(g, `${key}.bias`, [N], bias)]), channels: N };
      }
      const stored = await storeFloatWeight(g, sink, `${key}.weight`, [N, K], w, q);
      const b = await sink(g, `${key}.bias`, [N], bias);
      return { ...rows, value: g.op("Gemm", [rows.value, stored, b], { transB: 1 }), channels: N };
    }
    case "gelu":
      return { ...x, value: exactGelu(g, x.value) };
    case "token-down": {
      const tokens = toTokens(g, x);
      const inGrid = Math.sqrt(tokens.tokens);
      const pool = g.constFloat(adaptiveAvgPoolMatrix(inGrid, layer.grid), [
        layer.grid * layer.grid,
        tokens.tokens,
      ]);
      // [P, N] @ [batch, N, C] broadcasts to [batch, P, C].
      return { ...tokens, value: g.op("MatMul", [pool, tokens.value]), tokens: layer.grid * layer.grid };
    }
    case "pos-inject": {
      const dims = [layer.channels, 1, 3, 3];
      const data = await readWeight(weights, `${layer.key}.weight`, dims);
      const w = await storeFloatWeight(g, sink, `${layer.key}.weight`, dims, data, q);
      const b = await sink(
        g,
        `${layer.key}.bias`,
        [layer.channels],
        await readWeight(weights, `${layer.key}.bias`, [layer.channels]),
      );
      const tokens = toTokens(g, x);
      const side = Math.sqrt(tokens.tokens);
      const channelsFirst = g.op("Transpose", [tokens.value], { perm: [0, 2, 1] });
      const image = g.op("Reshape", [channelsFirst, g.constInt64([-1, tokens.channels, side, side])]);
      const conv = g.op("Conv", [image, w, b], {
        group: layer.channels,
        kernel_shape: [3, 3],
        pads: [1, 1, 1, 1],
        strides: [1, 1],
      });
      const withResidual = g.op("Add", [conv, image]);
      const flat = g.op("Reshape", [withResidual, g.constInt64([-1, tokens.channels, tokens.tokens])]);
      return { ...tokens, value: g.op("Transpose", [flat], { perm: [0, 2, 1] }) };
    }
  }
}

/** nn.GELU() default: x * 0.5 * (1 + erf(x / sqrt 2)), spelled out in opset-9 ops so any opset >= 13 runs it
 *  (onnxruntime fuses the pattern into its Gelu kernel). */
function exactGelu(g: GraphBuilder, x: string): string {
  const half = g.op("Mul", [x, g.constFloat([0.5], [])]);
  const erf = g.op("Erf", [g.op("Mul", [x, g.constFloat([Math.SQRT1_2], [])])]);
  return g.op("Mul", [half, g.op("Add", [erf, g.constFloat([1], [])])]);
}

function toRows(g: GraphBuilder, x: Activation): Activation {
  if (x.layout === "rows") return x;
  return { ...x, layout: "rows", value: g.op("Reshape", [x.value, g.constInt64([-1, x.channels])]) };
}

function toTokens(g: GraphBuilder, x: Activation): Activation {
  if (x.layout === "tokens") return x;
  return {
    ...x,
    layout: "tokens",
    value: g.op("Reshape", [x.value, g.constInt64([-1, x.tokens, x.channels])]),
  };
}

async function readWeight(weights: WeightSource, key: string, dims: number[]): Promise<Float32Array> {
  const t = await weights.read(key);
  const expected = dims.reduce((a, b) => a * b, 1);
  // validateProjectorWeights checked the header; this guards sources whose read disagrees with their info.
  if (!(t.data instanceof Float32Array) || t.data.length !== expected)
    throw new WeightsMismatchError(key, `read back as ${t.dtype} [${t.shape}], expected float32 [${dims}]`);
  return t.data;
}
