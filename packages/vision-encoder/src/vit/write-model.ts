import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ExternalDataWriter, InvalidArgumentError, serializeModel, type WeightSource } from "@cobra-ts/core";
import type { VitConfig } from "./config.js";
import { buildVitGraph } from "./graph.js";
import { externalInitializers } from "./initializers.js";
import { vitModelOptions } from "./model.js";

export interface WrittenModel {
  /** Path of the .onnx file. */
  model: string;
  /** External data file names, relative to the model's folder. */
  dataFiles: string[];
}

/**
 * Writes `<dir>/<fileName>` with its weights in `<fileName>.data` (split into `.data.1`, ... past 2 GiB),
 * streaming one tensor at a time from `weights`, so a 1.6 GB SigLIP never sits in memory whole. Node only.
 * On failure the files written so far are removed.
 */
export async function writeVitModel(
  dir: string,
  fileName: string,
  config: VitConfig,
  weights: WeightSource,
): Promise<WrittenModel> {
  if (fileName.includes("/") || fileName.includes("\\"))
    throw new InvalidArgumentError(`model file name "${fileName}" must not contain a path`);
  const writer = new ExternalDataWriter(dir, `${fileName}.data`);
  const model = join(dir, fileName);
  try {
    const graph = await buildVitGraph(config, weights, externalInitializers(writer));
    await writer.close();
    await writeFile(model, serializeModel(graph, vitModelOptions(config)));
    return { model, dataFiles: [...writer.files] };
  } catch (e) {
    await writer.close().catch(() => {});
    await Promise.all(
      [model, ...writer.files.map((name) => join(dir, name))].map((path) => rm(path, { force: true })),
    );
    throw e;
  }
}
