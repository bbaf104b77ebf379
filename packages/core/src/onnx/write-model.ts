import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { type GraphBuilder, type ModelOptions, serializeModel } from "./builder.js";
import { ExternalDataWriter } from "./external-data.js";
import { type InitializerSink, initializerType } from "./initializer-sink.js";

export interface WrittenOnnxModel {
  /** Every file written, relative to the folder: the graph first, then its external data files. */
  files: string[];
}

/**
 * Node only. Builds a graph whose weights stream to `<fileName>.data` (split past 2 GB) as `build` hands them
 * to the sink, then writes `<fileName>`. On any failure every file this call wrote is removed again.
 */
export async function writeOnnxModel(
  dir: string,
  fileName: string,
  build: (sink: InitializerSink) => Promise<GraphBuilder>,
  options: ModelOptions = {},
): Promise<WrittenOnnxModel> {
  if (fileName.includes("/") || fileName.includes("\\"))
    throw new InvalidArgumentError(`model file name "${fileName}" must not contain a path`);
  const writer = new ExternalDataWriter(dir, `${fileName}.data`);
  const sink: InitializerSink = async (g, name, dims, data) =>
    g.externalInitializer(name, initializerType(data), dims, await writer.write(data));
  try {
    const graph = await build(sink);
    await writer.close();
    await writeFile(join(dir, fileName), serializeModel(graph, options));
    return { files: [fileName, ...writer.files] };
  } catch (e) {
    await writer.close().catch(() => {});
    await Promise.all([fileName, ...writer.files].map((f) => rm(join(dir, f), { force: true })));
    throw e;
  }
}
