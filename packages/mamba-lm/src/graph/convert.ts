import {
  float32ToFloat16Bits,
  GraphBuilder,
  type InitializerSink,
  inlineInitializers,
  quantizeBlockwise,
  quantizedWeightNames,
  serializeModel,
  throwIfAborted,
  type WeightSource,
  WeightsMismatchError,
} from "@cobra-ts/core";
import { inferTiedMambaConfig } from "../config/from-weights.js";
import type { MambaConfig } from "../config/mamba-config.js";
import { MambaWeights } from "../weights/mamba-weights.js";
import { validateMambaWeights } from "../weights/validate.js";
import { checkLmQuantization, EMBEDDING_METADATA } from "./lm-quantization.js";
import { emitMambaLM, type MambaGraphOptions } from "./mamba-graph.js";
import { type RuntimeTensor, runtimeTensors, transpose2d } from "./runtime-tensors.js";
import { SCAN_REGIONS_METADATA, type ScanForm, type ScanRegions } from "./scan-regions.js";

/**
 * Bumped whenever the graph's inputs, outputs or initializer layout change. 2: `inputs_embeds` replaces
 * `prefix_embeds` + `input_ids` (the embedding lookup moved out of the graph). 3: `ssm_state.{i}` is
 * [batch, d_state, d_inner] (the scan's own layout), and the projections may be block-quantized.
 */
export const LM_FORMAT_VERSION = 3;

export interface ConversionProgress {
  /** The canonical tensor just converted. */
  tensor: string;
  done: number;
  total: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface ConvertOptions extends MambaGraphOptions {
  /** The scan form the written manifest asks for at load (see ScanForm); default "graph". */
  scan?: ScanForm;
  /** Key prefix of the LM inside the weights file when it holds more than one model (see locateMambaWeights). */
  prefix?: string;
  onProgress?: (progress: ConversionProgress) => void;
  signal?: AbortSignal;
}

/** What conversion decided: the config (given or inferred) and the graph options it was built with. */
export interface ConvertedLanguageModel {
  config: MambaConfig;
  graph: Required<MambaGraphOptions>;
}

function graphOptions(options: MambaGraphOptions): Required<MambaGraphOptions> {
  return {
    logits: options.logits ?? "last",
    scanOutput: options.scanOutput ?? "per-token",
    quantization: options.quantization ? checkLmQuantization(options.quantization) : null,
  };
}

/** Opens the LM view of `source` and fixes the config (inferred from the weights when not given), validated. */
export async function prepareConversion(
  source: WeightSource,
  config: MambaConfig | undefined,
  options: ConvertOptions,
) {
  const weights = source instanceof MambaWeights ? source : MambaWeights.from(source, options.prefix);
  const resolved = config ?? (await inferTiedMambaConfig(weights));
  validateMambaWeights(weights, resolved);
  return {
    weights,
    config: resolved,
    tensors: runtimeTensors(resolved, graphOptions(options).quantization),
  };
}

/**
 * Streams every tensor through `store` one at a time (read, widen to fp32, transpose or quantize as the layout
 * wants, hand over, drop), so peak memory is about one tensor plus what `store` keeps.
 */
export async function convertTensors(
  g: GraphBuilder,
  weights: MambaWeights,
  tensors: RuntimeTensor[],
  sink: InitializerSink,
  options: ConvertOptions,
): Promise<void> {
  const bytesTotal = tensors.reduce((s, t) => s + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
  let bytesDone = 0;
  for (const [i, t] of tensors.entries()) {
    throwIfAborted(options.signal);
    const read = await weights.read(t.source);
    if (!(read.data instanceof Float32Array))
      throw new WeightsMismatchError(weights.sourceKey(t.source), `dtype ${read.dtype} is not a float type`);
    const floats = (data: Float32Array) => (t.float16 ? float32ToFloat16Bits(data) : data);
    if (t.quantize) {
      const [rows, cols] = t.shape;
      const q = quantizeBlockwise(read.data, rows, cols, t.quantize);
      await sink(g, t.name, [rows, q.kBlocks, q.blobSize], q.data);
      await sink(g, quantizedWeightNames(t.source).scales, [rows, q.kBlocks], floats(q.scales));
    } else
      await sink(
        g,
        t.name,
        t.shape,
        floats(t.transpose ? transpose2d(read.data, t.shape[1], t.shape[0]) : read.data),
      );
    bytesDone += read.data.byteLength;
    options.onProgress?.({ tensor: t.source, done: i + 1, total: tensors.length, bytesDone, bytesTotal });
  }
}

/**
 * The model's metadata_props: enough to tell what a stray lm.onnx is. The config is not repeated here: the
 * model folder's manifest holds it (the "mamba-lm" part), the graph's own inputs give the sizes.
 */
export function modelMetadata(
  converted?: ConvertedLanguageModel,
  scans?: ScanRegions,
): Record<string, string> {
  const q = converted?.graph.quantization;
  return {
    "cobra.format": "mamba-lm",
    "cobra.format_version": String(LM_FORMAT_VERSION),
    ...(scans && { [SCAN_REGIONS_METADATA]: JSON.stringify(scans) }),
    // How the embedding's bytes are laid out when they are the quantized head's: the lookup reads rows
    // outside onnxruntime, from the graph alone (no manifest needed to load an .onnx file).
    ...(converted &&
      q?.method === "matmul-nbits" && {
        [EMBEDDING_METADATA]: JSON.stringify({
          bits: q.headBits,
          blockSize: q.blockSize,
          cols: converted.config.dModel,
        }),
      }),
  };
}

/**
 * Converts a Mamba LM into the runtime format entirely in memory: one ONNX model with the weights inside
 * (protobuf caps that at 2 GB: for tests and small models; use writeLanguageModel for real ones).
 */
export async function buildLanguageModel(
  source: WeightSource,
  config?: MambaConfig,
  options: ConvertOptions = {},
): Promise<ConvertedLanguageModel & { model: Uint8Array }> {
  const prepared = await prepareConversion(source, config, options);
  const g = new GraphBuilder("mamba_lm");
  await convertTensors(g, prepared.weights, prepared.tensors, inlineInitializers, options);
  const converted = { config: prepared.config, graph: graphOptions(options) };
  const scans = emitMambaLM(g, converted.config, converted.graph);
  return {
    ...converted,
    model: serializeModel(g, { metadata: modelMetadata(converted, scans), docString: "Mamba LM (cobra-ts)" }),
  };
}

export { graphOptions };
