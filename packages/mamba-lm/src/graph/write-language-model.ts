import { ExternalDataWriter, GraphBuilder, serializeModel, type WeightSource } from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import {
  type ConvertedLanguageModel,
  type ConvertOptions,
  convertTensors,
  FLOAT32,
  graphOptions,
  LM_FORMAT_VERSION,
  modelMetadata,
  prepareConversion,
} from "./convert.js";
import { emitMambaLM } from "./mamba-graph.js";

export const LM_GRAPH_FILE = "lm.onnx";
export const LM_DATA_FILE = "lm.onnx.data";
export const LM_CONFIG_FILE = "lm.json";

/** The content of lm.json: what a loader needs before it opens the graph. */
export interface LanguageModelDescriptor extends ConvertedLanguageModel {
  format: "mamba-lm";
  formatVersion: number;
  graphFile: string;
  dataFiles: string[];
}

/**
 * Node only. Converts a Mamba LM into `dir` as `lm.onnx` (graph), `lm.onnx.data[.1...]` (weights, external,
 * each file under 2 GB) and `lm.json` (config and layout). Every key and shape is validated from the headers
 * before the first byte is written; tensors are then streamed one at a time. On any failure the files this
 * call created are removed again.
 */
export async function writeLanguageModel(
  dir: string,
  source: WeightSource,
  config?: MambaConfig,
  options: ConvertOptions = {},
): Promise<LanguageModelDescriptor & { files: string[] }> {
  // Imported here, not at the top: index.ts (which exports this) must load in browsers.
  const { mkdir, rm, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const prepared = await prepareConversion(source, config, options);
  await mkdir(dir, { recursive: true });
  const writer = new ExternalDataWriter(dir, LM_DATA_FILE);
  const created = () => [...writer.files, LM_GRAPH_FILE, LM_CONFIG_FILE];
  try {
    const g = new GraphBuilder("mamba_lm");
    await convertTensors(
      prepared.weights,
      prepared.tensors,
      async (t, data) => void g.externalInitializer(t.name, FLOAT32, t.shape, await writer.write(data)),
      options,
    );
    await writer.close();
    const converted = { config: prepared.config, graph: graphOptions(options) };
    emitMambaLM(g, converted.config, converted.graph);
    await writeFile(
      join(dir, LM_GRAPH_FILE),
      serializeModel(g, { metadata: modelMetadata(converted), docString: "Mamba LM (cobra-ts)" }),
    );
    const descriptor: LanguageModelDescriptor = {
      format: "mamba-lm",
      formatVersion: LM_FORMAT_VERSION,
      ...converted,
      graphFile: LM_GRAPH_FILE,
      dataFiles: [...writer.files],
    };
    await writeFile(join(dir, LM_CONFIG_FILE), `${JSON.stringify(descriptor, null, 2)}\n`);
    return { ...descriptor, files: created() };
  } catch (e) {
    await writer.close().catch(() => {});
    await Promise.all(created().map((f) => rm(join(dir, f), { force: true })));
    throw e;
  }
}
