import { ExternalDataWriter, serializeModel, type WeightSource } from "@cobra-ts/core";
import { buildProjectorGraph, type WeightSink } from "./graph.js";
import type { ProjectorDims } from "./layers.js";
import type { ProjectorVariant } from "./variants.js";

export interface WriteProjectorOptions {
  dims?: ProjectorDims;
  /** The graph file name in `dir`; "projector.onnx" unless given. */
  fileName?: string;
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
  // Imported here so that the package's entry point stays loadable in browsers.
  const { rename, rm, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const fileName = options.fileName ?? "projector.onnx";
  const modelPath = join(dir, fileName);
  const tmpPath = `${modelPath}.tmp`;
  const writer = new ExternalDataWriter(dir, `${fileName}.data`);
  const sink: WeightSink = async (g, name, dims, data) =>
    g.externalInitializer(name, "float32", dims, await writer.write(data));
  try {
    const g = await buildProjectorGraph(variant, weights, options.dims, { sink });
    await writer.close();
    await writeFile(tmpPath, serializeModel(g, { docString: `Cobra projector "${variant}"` }));
    await rename(tmpPath, modelPath);
    return { modelPath, files: [fileName, ...writer.files] };
  } catch (e) {
    await writer.close().catch(() => {});
    await Promise.all([tmpPath, ...writer.files.map((f) => join(dir, f))].map((f) => rm(f, { force: true })));
    throw e;
  }
}
