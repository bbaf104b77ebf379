import {
  inlineInitializers,
  linearQuantizationMetadata,
  type ModelOptions,
  serializeModel,
  type WeightSource,
} from "@cobra-ts/core";
import type { VitConfig } from "./config.js";
import { buildVitGraph, type VitGraphOptions } from "./graph.js";

/** Opset 17: LayerNormalization is a standard op there; GELU is built from Erf (onnxruntime fuses it). */
export const VIT_OPSET = 17;

/**
 * Model-level fields of an encoder's ONNX file: opset, a description, and as metadata only how its weights are
 * stored (`cobra.dtype`, `cobra.quantization`), what tells a stray file apart. The config is not repeated: the
 * manifest's part config is its one source, and a graph loaded on its own (VitEncoder.create) takes it from
 * the caller and checks the graph's own inputs and outputs.
 */
export function vitModelOptions(config: VitConfig, options: VitGraphOptions = {}): ModelOptions {
  return {
    opsets: { "": VIT_OPSET },
    docString: `${config.architecture}: output of block ${config.featureBlock} at ${config.imageSize}px, prefix tokens dropped (timm v0.9.10)`,
    metadata: linearQuantizationMetadata(options.quantization),
  };
}

/** The encoder as ONNX bytes with its weights inside: for small models (tests, tiny fixtures; protobuf caps at 2 GB). */
export async function buildVitModel(
  config: VitConfig,
  weights: WeightSource,
  options: VitGraphOptions = {},
): Promise<Uint8Array> {
  return serializeModel(
    await buildVitGraph(config, weights, inlineInitializers, options),
    vitModelOptions(config, options),
  );
}
