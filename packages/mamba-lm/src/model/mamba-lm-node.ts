// Node only: MambaLM that also loads a converted folder or an .onnx file by path. The Node entry exports it
// as MambaLM, so `import { MambaLM } from "@cobra-ts/mamba-lm/node"` keeps `MambaLM.load(dir)` working while
// the platform-independent entry never reaches the file system.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelFormatError } from "@cobra-ts/core";
import { externalDataPaths } from "@cobra-ts/core/node";
import { LM_CONFIG_FILE } from "../graph/lm-files.js";
import { embeddingFromFile } from "./embedding-file.js";
import { type LanguageModelBytes, type LoadOptions, MambaLM as PortableMambaLM } from "./mamba-lm.js";

export class MambaLM extends PortableMambaLM {
  /**
   * Loads a converted model: a folder written by writeLanguageModel (`lm.json` + `lm.onnx` + data), a path to
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
          externalData: options.backend === "wasm" ? await externalDataPaths(graphPath) : undefined,
          embeddings: (inspection) => embeddingFromFile(inspection, graphPath),
        };
      },
      options,
    );
  }
}

/** A folder (holding lm.json naming the graph) or an .onnx file. */
async function resolveGraphPath(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new ModelFormatError(`${path}: no such model folder or file`);
  if (!info.isDirectory()) return path;
  const descriptorPath = join(path, LM_CONFIG_FILE);
  let descriptor: { format?: string; graphFile?: string };
  try {
    descriptor = JSON.parse(await readFile(descriptorPath, "utf8"));
  } catch (e) {
    throw new ModelFormatError(
      `${descriptorPath}: missing or not JSON; convert the model with writeLanguageModel first`,
      { cause: e },
    );
  }
  if (
    descriptor.format !== "mamba-lm" ||
    typeof descriptor.graphFile !== "string" ||
    descriptor.graphFile.includes("/")
  )
    throw new ModelFormatError(`${descriptorPath}: not a mamba-lm descriptor`);
  return join(path, descriptor.graphFile);
}
