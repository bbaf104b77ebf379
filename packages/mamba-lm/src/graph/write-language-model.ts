import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GraphBuilder, type WeightSource, writeOnnxModel } from "@cobra-ts/core/node";
import type { MambaConfig } from "../config/mamba-config.js";
import {
  type ConvertOptions,
  convertTensors,
  graphOptions,
  LM_FORMAT_VERSION,
  modelMetadata,
  prepareConversion,
} from "./convert.js";
import { type LanguageModelDescriptor, LM_CONFIG_FILE, LM_GRAPH_FILE } from "./lm-files.js";
import { emitMambaLM } from "./mamba-graph.js";

/**
 * Converts a Mamba LM into `dir` as `lm.onnx` (graph), `lm.onnx.data[.1...]` (weights, external,
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
  const prepared = await prepareConversion(source, config, options);
  await mkdir(dir, { recursive: true });
  const converted = { config: prepared.config, graph: graphOptions(options) };
  const { files } = await writeOnnxModel(
    dir,
    LM_GRAPH_FILE,
    async (sink) => {
      const g = new GraphBuilder("mamba_lm");
      await convertTensors(g, prepared.weights, prepared.tensors, sink, options);
      emitMambaLM(g, converted.config, converted.graph);
      return g;
    },
    { metadata: modelMetadata(converted), docString: "Mamba LM (cobra-ts)" },
  );
  const descriptor: LanguageModelDescriptor = {
    format: "mamba-lm",
    formatVersion: LM_FORMAT_VERSION,
    ...converted,
    graphFile: LM_GRAPH_FILE,
    dataFiles: files.slice(1),
  };
  try {
    await writeFile(join(dir, LM_CONFIG_FILE), `${JSON.stringify(descriptor, null, 2)}\n`);
  } catch (e) {
    await Promise.all([...files, LM_CONFIG_FILE].map((f) => rm(join(dir, f), { force: true })));
    throw e;
  }
  return { ...descriptor, files: [...files, LM_CONFIG_FILE] };
}
