import { type LinearQuantization, type WeightSource, writeOnnxModel } from "@cobra-ts/core/node";
import { buildProjectorGraph, projectorModelOptions } from "./graph.js";
import type { ProjectorDims } from "./layers.js";
import type { ProjectorVariant } from "./variants.js";

export interface WriteProjectorOptions {
  dims?: ProjectorDims;
  /** The graph file name in `dir`; "projector.onnx" unless given. */
  fileName?: string;
  /** Linear weights at fp16, q8 or q4 (see BuildProjectorOptions); fp32 when absent or null. */
  quantization?: LinearQuantization | null;
}

export interface WrittenProjector {
  /** Path of the .onnx file. */
  modelPath: string;
  /** Every file written, relative to `dir` (the graph, then its external data files). */
  files: string[];
}

/**
 * Node only. Writes the projector as `<fileName>` plus external data `<fileName>.data`, streaming one weight at
 * a time from `weights` to disk, so converting never holds the projector (191 MB fp32 for the 3B model) in memory
 * twice. On failure nothing is left behind.
 */
export async function writeProjectorModel(
  dir: string,
  variant: ProjectorVariant,
  weights: WeightSource,
  options: WriteProjectorOptions = {},
): Promise<WrittenProjector> {
  const fileName = options.fileName ?? "projector.onnx";
  const { files } = await writeOnnxModel(
    dir,
    fileName,
    (sink) =>
      buildProjectorGraph(variant, weights, options.dims, { sink, quantization: options.quantization }),
    projectorModelOptions(variant, options.quantization),
  );
  return { modelPath: `${dir}/${fileName}`, files };
}
