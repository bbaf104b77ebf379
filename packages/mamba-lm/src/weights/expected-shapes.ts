import type { MambaConfig } from "../config/mamba-config.js";
import { EMBEDDING, LM_HEAD, NORM_F } from "./mamba-weights.js";

/**
 * Every tensor a Mamba LM with this config has, by canonical name, with its shape. lm_head appears only when
 * untied: a tied model uses the embedding for both ends (weights held once).
 */
export function expectedMambaShapes(config: MambaConfig): Map<string, number[]> {
  const { dModel: d, dInner: di, dState: n, dConv: k, dtRank: r, vocabSizePadded: v } = config;
  const shapes = new Map<string, number[]>([[EMBEDDING, [v, d]]]);
  const norm = (prefix: string) => {
    shapes.set(`${prefix}.weight`, [d]);
    if (!config.rmsNorm) shapes.set(`${prefix}.bias`, [d]);
  };
  for (let i = 0; i < config.nLayer; i++) {
    const p = `layers.${i}`;
    norm(`${p}.norm`);
    const m = `${p}.mixer`;
    shapes.set(`${m}.in_proj.weight`, [2 * di, d]);
    if (config.bias) shapes.set(`${m}.in_proj.bias`, [2 * di]);
    shapes.set(`${m}.conv1d.weight`, [di, 1, k]);
    if (config.convBias) shapes.set(`${m}.conv1d.bias`, [di]);
    shapes.set(`${m}.x_proj.weight`, [r + 2 * n, di]);
    shapes.set(`${m}.dt_proj.weight`, [di, r]);
    shapes.set(`${m}.dt_proj.bias`, [di]);
    shapes.set(`${m}.A_log`, [di, n]);
    shapes.set(`${m}.D`, [di]);
    shapes.set(`${m}.out_proj.weight`, [d, di]);
    if (config.bias) shapes.set(`${m}.out_proj.bias`, [d]);
  }
  norm(NORM_F);
  if (!config.tieEmbeddings) shapes.set(LM_HEAD, [v, d]);
  return shapes;
}
