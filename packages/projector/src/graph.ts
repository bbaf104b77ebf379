import {
  GraphBuilder,
  type InitializerSink,
  inlineInitializers,
  type ModelOptions,
  serializeModel,
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
  for (const layer of projectorLayers(variant, full)) x = await emitLayer(g, layer, x, weights, sink);
  const out = toTokens(g, x);
  g.output(out.value, "float32", ["batch", projectedTokens(variant, full), full.llmDim], PROJECTOR_OUTPUT);
  return g;
}

/** The projector as ONNX bytes with inline weights (fine up to protobuf's 2 GB; the released one is 191 MB in fp32). */
export async function projectorModelBytes(
  variant: ProjectorVariant,
  weights: WeightSource,
  dims?: ProjectorDims,
  modelOptions: ModelOptions = {},
): Promise<Uint8Array> {
  const g = await buildProjectorGraph(variant, weights, dims);
  return serializeModel(g, { docString: `Cobra projector "${variant}"`, ...modelOptions });
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
): Promise<Activation> {
  switch (layer.kind) {
    case "linear": {
      const w = await readWeight(g, weights, sink, `${layer.key}.weight`, [
        layer.outFeatures,
        layer.inFeatures,
      ]);
      const b = await readWeight(g, weights, sink, `${layer.key}.bias`, [layer.outFeatures]);
      const rows = toRows(g, x);
      return { ...rows, value: g.op("Gemm", [rows.value, w, b], { transB: 1 }), channels: layer.outFeatures };
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
      const w = await readWeight(g, weights, sink, `${layer.key}.weight`, [layer.channels, 1, 3, 3]);
      const b = await readWeight(g, weights, sink, `${layer.key}.bias`, [layer.channels]);
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

async function readWeight(
  g: GraphBuilder,
  weights: WeightSource,
  sink: InitializerSink,
  key: string,
  dims: number[],
): Promise<string> {
  const t = await weights.read(key);
  const expected = dims.reduce((a, b) => a * b, 1);
  // validateProjectorWeights checked the header; this guards sources whose read disagrees with their info.
  if (!(t.data instanceof Float32Array) || t.data.length !== expected)
    throw new WeightsMismatchError(key, `read back as ${t.dtype} [${t.shape}], expected float32 [${dims}]`);
  return sink(g, key, dims, t.data);
}
