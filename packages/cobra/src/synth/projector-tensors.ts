import { expectedProjectorTensors, type ProjectorDims, type ProjectorVariant } from "@cobra-ts/projector";
import type { SyntheticTensor } from "./random-tensor.js";

/** The projector's own keys (`projector.0.weight`, ...), as validateProjectorWeights expects them. */
export function syntheticProjectorTensors(
  variant: ProjectorVariant,
  dims: ProjectorDims,
): Map<string, SyntheticTensor> {
  const out = new Map<string, SyntheticTensor>();
  for (const { key, shape } of expectedProjectorTensors(variant, dims)) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    out.set(key, {
      shape,
      init: key.endsWith(".bias")
        ? { kind: "uniform", std: 0.01 }
        : { kind: "uniform", std: 1 / Math.sqrt(fanIn) },
    });
  }
  return out;
}
