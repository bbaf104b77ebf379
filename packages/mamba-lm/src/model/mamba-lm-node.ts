// Node only: MambaLM that also loads a converted folder or an .onnx file by path. The Node entry exports it
// as MambaLM, so `import { MambaLM } from "@cobra-ts/mamba-lm/node"` keeps `MambaLM.load(dir)` working while
// the platform-independent entry never reaches the file system.
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelFormatError, type PartLoader, partGraph } from "@cobra-ts/core";
import { externalDataPaths } from "@cobra-ts/core/node";
import { LM_GRAPH_FILE } from "../graph/lm-files.js";
import { embeddingFromFile } from "./embedding-file.js";
import { type LanguageModelBytes, type LoadOptions, MambaLM as PortableMambaLM } from "./mamba-lm.js";
import { mambaLmLoader, mambaTokenizerLoader, partLoadOptions } from "./part-loader.js";

export class MambaLM extends PortableMambaLM {
  /**
   * Loads a converted model: a folder written by writeLanguageModel (`lm.onnx` + data), a path to
   * an `.onnx` file, or the bytes of one. From a path, onnxruntime reads the external data itself and the
   * embedding rows are read from their file on demand. On wasm (onnxruntime-web, which does not look beside
   * the model) the external data files are handed over by path.
   */
  static override async load(
    source: string | LanguageModelBytes,
    options: LoadOptions = {},
  ): Promise<PortableMambaLM> {
    // biome-ignore lint/complexity/noThisInStatic: super/this keep the instances of this class
    if (typeof source !== "string") return super.load(source, options);
    // biome-ignore lint/complexity/noThisInStatic: as above
    return this.open(
      source,
      async () => {
        const graphPath = await resolveGraphPath(source);
        const bytes = await readFile(graphPath).catch((e) => {
          throw new ModelFormatError(`${graphPath}: cannot read the model (${(e as Error).message})`, {
            cause: e,
          });
        });
        return {
          bytes,
          model: graphPath,
          folder: dirname(graphPath),
          externalData: options.backend === "wasm" ? await externalDataPaths(graphPath) : undefined,
          embeddings: (inspection) => embeddingFromFile(inspection, graphPath),
        };
      },
      options,
    );
  }
}

/** A folder written by writeLanguageModel (its lm.onnx), or an .onnx file. */
async function resolveGraphPath(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new ModelFormatError(`${path}: no such model folder or file`);
  if (!info.isDirectory()) return path;
  const graph = join(path, LM_GRAPH_FILE);
  if (!(await stat(graph).catch(() => null)))
    throw new ModelFormatError(
      `${path} holds no ${LM_GRAPH_FILE}: convert the model with writeLanguageModel first`,
    );
  return graph;
}

/** This package's part loaders for Node: a graph on disk is opened by path, its weights never read whole. */
export const mambaLmLoaders: readonly (PartLoader<"lm"> | PartLoader<"tokenizer">)[] = [
  mambaLmLoader(async (part, config, context) => {
    const { model, externalData } = await partGraph(part, config.graph, context);
    const options = partLoadOptions(config, context);
    return typeof model === "string"
      ? MambaLM.load(model, options)
      : MambaLM.load({ model, externalData }, options);
  }),
  mambaTokenizerLoader,
];
