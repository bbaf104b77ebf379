// Node only: where a model file's external data files are, for runtimes that do not look beside the model.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelFormatError } from "../errors.js";
import type { SessionOptions } from "../runtime/ort.js";
import { inspectModel } from "./inspect.js";

/**
 * The external data files of the model at `modelPath`, as onnxruntime's `externalData` option takes them:
 * the name the model references and the file's path (onnxruntime-web's Node build reads paths itself, so the
 * bytes are read once, into its own memory).
 */
export async function externalDataPaths(
  modelPath: string,
): Promise<NonNullable<SessionOptions["externalData"]>> {
  const bytes = await readFile(modelPath).catch((e) => {
    throw new ModelFormatError(`${modelPath}: cannot read the model (${(e as Error).message})`, { cause: e });
  });
  const folder = dirname(modelPath);
  return inspectModel(bytes, modelPath).externalFiles.map((location) => {
    if (location.startsWith("/") || location.split(/[\\/]/).includes(".."))
      throw new ModelFormatError(
        `${modelPath}: external data location "${location}" leaves the model's folder`,
      );
    return { path: location, data: join(folder, location) };
  });
}

/**
 * `options` for opening the model file at `modelPath`: on the wasm backend (onnxruntime-web, which cannot find
 * external data by itself) with its external data files added unless the caller gave them.
 */
export async function nodeSessionOptions(
  modelPath: string,
  options: SessionOptions = {},
): Promise<SessionOptions> {
  if (options.backend !== "wasm" || options.externalData) return options;
  return { ...options, externalData: await externalDataPaths(modelPath) };
}
