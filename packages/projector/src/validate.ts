import { type DType, type WeightSource, WeightsMismatchError } from "@cobra-ts/core";
import { checkDims, expectedProjectorTensors, type ProjectorDims, projectorLayers } from "./layers.js";
import type { ProjectorVariant } from "./variants.js";

/** Float storages only: reads widen F16/BF16/F64 to F32, integer tensors cannot be weights here. */
const FLOAT_DTYPES: ReadonlySet<DType> = new Set(["F32", "F16", "BF16", "F64"]);

/**
 * The dims a projector state dict implies: D from the first Linear's input, d_model from the last Linear's
 * output. `weights` holds the projector's own keys (`projector.0.weight`, ...): use `withPrefix(source,
 * "model.projector.")` on a whole Cobra checkpoint.
 */
export function inferProjectorDims(
  variant: ProjectorVariant,
  weights: WeightSource,
  numPatches?: number,
): ProjectorDims {
  // Any positive dims give the key names; only the shapes depend on them.
  const linears = projectorLayers(variant, { visionDim: 1, llmDim: 1, numPatches: numPatches ?? 1 }).filter(
    (l) => l.kind === "linear",
  );
  const firstKey = `${linears[0].key}.weight`;
  const lastKey = `${linears[linears.length - 1].key}.weight`;
  const first = matrixShape(variant, weights, firstKey);
  const last = matrixShape(variant, weights, lastKey);
  return { visionDim: first[1], llmDim: last[0], ...(numPatches === undefined ? {} : { numPatches }) };
}

/**
 * Checks that `weights` is exactly the state dict of `variant` at `dims` (inferred when absent): every key
 * present with its shape and a float dtype, and no other key (the official code loads it with strict
 * `load_state_dict`, so an extra key is as wrong as a missing one). Throws WeightsMismatchError naming the key.
 */
export function validateProjectorWeights(
  variant: ProjectorVariant,
  weights: WeightSource,
  dims?: ProjectorDims,
): Required<ProjectorDims> {
  const full = checkDims(variant, dims ?? inferProjectorDims(variant, weights));
  const expected = expectedProjectorTensors(variant, full);
  for (const { key, shape } of expected) {
    if (!weights.has(key)) throw new WeightsMismatchError(key, missingMessage(variant, weights));
    const info = weights.info(key);
    if (!sameShape(info.shape, shape))
      throw new WeightsMismatchError(
        key,
        `shape [${info.shape}] does not fit projector "${variant}" with D=${full.visionDim}, d_model=${full.llmDim} ` +
          `(expected [${shape}]); is the checkpoint for another arch_specifier or model size?`,
      );
    if (!FLOAT_DTYPES.has(info.dtype))
      throw new WeightsMismatchError(
        key,
        `dtype ${info.dtype} is not a float type; projector weights must be float`,
      );
  }
  const known = new Set(expected.map((t) => t.key));
  for (const key of weights.keys())
    if (!known.has(key))
      throw new WeightsMismatchError(
        key,
        `unexpected key for projector "${variant}" (it has ${[...known].join(", ")}); is the checkpoint for another arch_specifier?`,
      );
  return full;
}

function matrixShape(variant: ProjectorVariant, weights: WeightSource, key: string): [number, number] {
  if (!weights.has(key)) throw new WeightsMismatchError(key, missingMessage(variant, weights));
  const { shape } = weights.info(key);
  if (shape.length !== 2 || shape.some((n) => n < 1))
    throw new WeightsMismatchError(
      key,
      `expected a Linear weight [out, in] for projector "${variant}", got shape [${shape}]`,
    );
  return [shape[0], shape[1]];
}

function missingMessage(variant: ProjectorVariant, weights: WeightSource): string {
  const present = weights.keys();
  const listed = present.length > 8 ? `${present.slice(0, 8).join(", ")}, ...` : present.join(", ");
  return (
    `missing from ${weights.path}, required by projector "${variant}" (present: ${listed || "none"}); ` +
    `pass the projector's own keys (withPrefix(checkpoint, "model.projector.")) and the arch_specifier it was trained with`
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
