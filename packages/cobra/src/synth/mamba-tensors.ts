import { expectedMambaShapes, type MambaConfig } from "@cobra-ts/mamba-lm";
import type { SyntheticTensor, TensorInit } from "./random-tensor.js";

/** state-spaces checkpoints keep the LM under `backbone.`; writeLanguageModel finds it there. */
export const MAMBA_BACKBONE_PREFIX = "backbone.";

/** mamba_ssm's dt range at init: dt log-uniform in [1e-3, 1e-1]. */
const DT_MIN = 1e-3;
const DT_MAX = 1e-1;

/** What mamba_ssm initializes each parameter like (magnitudes only; see TensorInit). */
function mambaInit(name: string, shape: number[], config: MambaConfig): TensorInit {
  if (name.endsWith(".A_log")) return { kind: "a-log" };
  if (name.endsWith(".D") || /norm(_f)?\.weight$/.test(name)) return { kind: "constant", value: 1 };
  if (name.endsWith(".dt_proj.bias")) return { kind: "dt-bias", min: DT_MIN, max: DT_MAX };
  if (name.endsWith(".dt_proj.weight")) return { kind: "uniform", std: config.dtRank ** -0.5 / Math.sqrt(3) };
  if (name.endsWith(".bias")) return { kind: "uniform", std: 0.01 };
  if (name === "embedding.weight" || name === "lm_head.weight") return { kind: "uniform", std: 0.02 };
  // Linear [out, in] and conv1d [d_inner, 1, d_conv]: fan-in is everything after the first axis.
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return { kind: "uniform", std: 1 / Math.sqrt(fanIn) };
}

/** Every tensor of a Mamba LM with `config`, under state-spaces key names. */
export function syntheticMambaTensors(config: MambaConfig): Map<string, SyntheticTensor> {
  const out = new Map<string, SyntheticTensor>();
  for (const [name, shape] of expectedMambaShapes(config)) {
    const key = name === "lm_head.weight" ? name : `${MAMBA_BACKBONE_PREFIX}${name}`;
    out.set(key, { shape, init: mambaInit(name, shape, config) });
  }
  return out;
}
