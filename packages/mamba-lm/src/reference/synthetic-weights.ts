// Synthetic Mamba weights in memory (tests, benchmarks of shapes).
import { f32, MemoryWeights, type Tensor } from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import { expectedMambaShapes } from "../weights/expected-shapes.js";

/** Random weights with Mamba-like magnitudes under `${root}backbone.*` (mamba_ssm or transformers names). */
export function syntheticMambaSource(
  config: MambaConfig,
  options: { root?: string; dialect?: "mamba_ssm" | "transformers"; seed?: number } = {},
): MemoryWeights {
  let s = options.seed ?? 1;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const root = options.root ?? "";
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedMambaShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fanIn = shape.length > 1 ? shape[shape.length - 1] : 1;
    for (let i = 0; i < n; i++) {
      if (name.endsWith("A_log")) data[i] = Math.log(1 + (i % shape[1]));
      else if (name.endsWith(".D") || name.endsWith("norm.weight") || name.endsWith("norm_f.weight"))
        data[i] = 1 + 0.2 * rand();
      else if (name.endsWith("dt_proj.bias")) data[i] = -4 + rand();
      else data[i] = (2 * rand()) / Math.sqrt(fanIn);
    }
    const key =
      name === "lm_head.weight"
        ? `${root}${name}`
        : `${root}backbone.${name === "embedding.weight" && options.dialect === "transformers" ? "embeddings.weight" : name}`;
    tensors.set(key, f32(shape, data));
  }
  return new MemoryWeights(tensors);
}
