import { mkdir } from "node:fs/promises";
import { GraphBuilder, type PartDescription, type WeightSource, writeOnnxModel } from "@cobra-ts/core/node";
import type { MambaConfig } from "../config/mamba-config.js";
import { type MambaLmPartConfig, mambaLmPart } from "../model/part-loader.js";
import {
  type ConvertOptions,
  convertTensors,
  graphOptions,
  modelMetadata,
  prepareConversion,
} from "./convert.js";
import { LM_GRAPH_FILE } from "./lm-files.js";
import { emitMambaLM } from "./mamba-graph.js";

/**
 * Converts a Mamba LM into `dir` as `lm.onnx` (graph) and `lm.onnx.data[.1...]` (weights, external, each file
 * under 2 GB), and returns the "mamba-lm" part that describes them: its config (architecture and graph options)
 * is the one place they are stored, in the model folder's manifest. Every key and shape is validated from the
 * headers before the first byte is written; tensors are then streamed one at a time. On any failure the files
 * this call created are removed again.
 */
export async function writeLanguageModel(
  dir: string,
  source: WeightSource,
  config?: MambaConfig,
  options: ConvertOptions = {},
): Promise<PartDescription<MambaLmPartConfig>> {
  const prepared = await prepareConversion(source, config, options);
  await mkdir(dir, { recursive: true });
  const converted = { config: prepared.config, graph: graphOptions(options) };
  // The metadata is serialized after the graph is built: the scans' places are known by then.
  const model = { metadata: modelMetadata(converted), docString: "Mamba LM (cobra-ts)" };
  const { files } = await writeOnnxModel(
    dir,
    LM_GRAPH_FILE,
    async (sink) => {
      const g = new GraphBuilder("mamba_lm");
      await convertTensors(g, prepared.weights, prepared.tensors, sink, options);
      model.metadata = modelMetadata(converted, emitMambaLM(g, converted.config, converted.graph));
      return g;
    },
    model,
  );
  return mambaLmPart(
    {
      graph: LM_GRAPH_FILE,
      model: converted.config,
      options: converted.graph,
      scan: options.scan ?? "graph",
    },
    files,
  );
}
