import { join } from "node:path";
import { type WeightSource, writeOnnxModel } from "@cobra-ts/core/node";
import type { VitConfig } from "./config.js";
import { buildVitGraph, type VitGraphOptions, type VitGraphTensors } from "./graph.js";
import { vitModelOptions } from "./model.js";

export interface WrittenModel {
  /** Path of the .onnx file. */
  model: string;
  /** External data file names, relative to the model's folder. */
  dataFiles: string[];
}

/**
 * Writes `<dir>/<fileName>` with its weights in `<fileName>.data` (split into `.data.1`, ... past 2 GiB),
 * streaming one tensor at a time from `weights` (a release's, or an fp32 graph's read back), so a 1.6 GB SigLIP never sits in memory whole. Node only.
 * On failure the files written so far are removed. `options.quantization` stores the Linear weights at fp16,
 * q8 or q4 (see VitGraphOptions).
 */
export async function writeVitModel(
  dir: string,
  fileName: string,
  config: VitConfig,
  weights: WeightSource | VitGraphTensors,
  options: VitGraphOptions = {},
): Promise<WrittenModel> {
  const { files } = await writeOnnxModel(
    dir,
    fileName,
    (sink) => buildVitGraph(config, weights, sink, options),
    vitModelOptions(config, options),
  );
  return { model: join(dir, fileName), dataFiles: files.slice(1) };
}
