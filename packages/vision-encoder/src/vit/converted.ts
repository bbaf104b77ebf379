// Node only: a tower of a folder converted at fp32, read back as the tensors its graph is made of, so
// `cobra quantize` writes it at another dtype through the same graph builder as a conversion from the release.
import { join } from "node:path";
import { ModelFormatError } from "@cobra-ts/core";
import { openFp32Graph } from "@cobra-ts/core/node";
import type { VitTowerConfig } from "../encoders/part-loader.js";
import { POS_EMBED_PATCHES, PREFIX_TOKENS, transposeLinear, type VitGraphTensors } from "./graph.js";
import { expectedVitTensors } from "./weights.js";

/** The Linear weights, which an fp32 graph stores transposed as `<prefix>.weight_t` [in, out]. */
const LINEAR_WEIGHT = /\.(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.weight$/;

/**
 * Opens tower `tower` of the converted folder `dir`. Every tensor the graph needs is checked (float32, the
 * shape `tower.vit` implies) before this returns, so a graph that is not fp32 or not of this config fails here.
 */
export async function openConvertedVitTensors(
  dir: string,
  tower: VitTowerConfig,
): Promise<VitGraphTensors & { close(): Promise<void> }> {
  const graph = await openFp32Graph(join(dir, tower.graph), `${tower.name} tower`);
  const config = tower.vit;
  const stored = new Map<string, { name: string; shape: number[]; transposed: boolean }>();
  for (const [key, shape] of expectedVitTensors(config)) {
    if (key === "cls_token" || key === "reg_token") continue; // inside PREFIX_TOKENS
    if (Number(/^blocks\.(\d+)\./.exec(key)?.[1] ?? 0) > config.featureBlock) continue; // not in the graph
    const transposed = LINEAR_WEIGHT.test(key);
    stored.set(
      key,
      transposed
        ? { name: `${key}_t`, shape: [shape[1], shape[0]], transposed }
        : { name: key, shape, transposed },
    );
  }
  stored.set(POS_EMBED_PATCHES, {
    name: POS_EMBED_PATCHES,
    shape: [1, config.numPatches, config.embedDim],
    transposed: false,
  });
  if (config.numPrefixTokens > 0)
    stored.set(PREFIX_TOKENS, {
      name: PREFIX_TOKENS,
      shape: [1, config.numPrefixTokens, config.embedDim],
      transposed: false,
    });
  for (const { name, shape } of stored.values()) {
    const found = graph.has(name) ? graph.info(name).shape : null;
    if (found?.join() !== shape.join()) {
      await graph.close();
      throw new ModelFormatError(
        `${graph.path}: "${name}" should be float32 [${shape}] for this ${config.architecture}, found ${found ? `[${found}]` : "no float32 initializer"}`,
      );
    }
  }
  return {
    kind: "vit-graph-tensors",
    async read(key) {
      const entry = stored.get(key);
      if (!entry) throw new ModelFormatError(`${graph.path}: the encoder graph has no tensor "${key}"`);
      const data = (await graph.read(entry.name)).data as Float32Array;
      return entry.transposed ? transposeLinear(data, entry.shape[0], entry.shape[1]) : data;
    },
    close: () => graph.close(),
  };
}
