import { expectedVitTensors, posEmbedPrefixRows, type VitConfig } from "@cobra-ts/vision-encoder";
import type { SyntheticTensor, TensorInit } from "./random-tensor.js";

function vitInit(key: string, shape: number[]): TensorInit {
  if (/norm\d?\.weight$/.test(key)) return { kind: "constant", value: 1 };
  if (key.endsWith(".bias")) return { kind: "uniform", std: 0.01 };
  // Trained DINOv2 LayerScale gammas are O(0.1); 1e-5 (their init) would make the blocks near-identities.
  if (key.endsWith(".gamma")) return { kind: "constant", value: 0.1 };
  if (key === "cls_token" || key === "reg_token") return { kind: "uniform", std: 0.02 };
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return { kind: "uniform", std: 1 / Math.sqrt(fanIn) };
}

/**
 * A timm ViT trunk for `config` (what openVitRelease would hand the writer), with pos_embed on the grid of
 * the pretrained image size, so the writer resamples it to the run size exactly as for released weights.
 */
export function syntheticVitTensors(config: VitConfig): Map<string, SyntheticTensor> {
  const out = new Map<string, SyntheticTensor>();
  for (const [key, shape] of expectedVitTensors(config)) out.set(key, { shape, init: vitInit(key, shape) });
  const grid = Math.floor(config.pretrainedImageSize / config.patchSize);
  const rows = posEmbedPrefixRows(config) + grid * grid;
  out.set("pos_embed", { shape: [1, rows, config.embedDim], init: { kind: "uniform", std: 0.02 } });
  return out;
}
