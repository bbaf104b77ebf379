// Node only: the projector of a folder converted at fp32, read back from its graph under the checkpoint's key
// names, so `cobra quantize` writes it at another dtype through writeProjectorModel, as a conversion does.
import { join } from "node:path";
import { onlyKeys, type WeightSource } from "@cobra-ts/core";
import { openFp32Graph } from "@cobra-ts/core/node";
import { expectedProjectorTensors, type ProjectorDims } from "./layers.js";
import type { ProjectorPartConfig } from "./part-loader.js";
import { validateProjectorWeights } from "./validate.js";
import type { ProjectorVariant } from "./variants.js";

/**
 * Opens the `variant` projector described by `config` in the converted folder `dir`, taking `numPatches`
 * patches per image (the encoder's). Its weights are checked against the variant before this returns.
 */
export async function openConvertedProjectorWeights(
  dir: string,
  variant: ProjectorVariant,
  config: ProjectorPartConfig,
  numPatches: number,
): Promise<{ weights: WeightSource; dims: Required<ProjectorDims> }> {
  const graph = await openFp32Graph(join(dir, config.graph), "projector");
  try {
    const asked = { visionDim: config.inputDim, llmDim: config.outputDim, numPatches };
    // The graph's other float32 initializers are its constants (GELU's, the pooling matrix), not weights.
    const weights = onlyKeys(
      graph,
      expectedProjectorTensors(variant, asked).map((t) => t.key),
    );
    return { weights, dims: validateProjectorWeights(variant, weights, asked) };
  } catch (e) {
    await graph.close();
    throw e;
  }
}
