import { WeightsMismatchError } from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import { expectedMambaShapes } from "./expected-shapes.js";
import { EMBEDDING, LM_HEAD, type MambaWeights } from "./mamba-weights.js";

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

function describeConfig(c: MambaConfig): string {
  return `d_model ${c.dModel}, n_layer ${c.nLayer}, d_inner ${c.dInner}, d_state ${c.dState}, d_conv ${c.dConv}, dt_rank ${c.dtRank}, vocab ${c.vocabSizePadded}`;
}

/**
 * Checks, from the headers alone (no tensor is read), that `weights` are exactly the model `config` describes:
 * nothing missing, nothing unknown, every shape right, every dtype a float. Throws WeightsMismatchError naming
 * the source file's key. Returns the tensors to convert, in a stable order.
 */
export function validateMambaWeights(weights: MambaWeights, config: MambaConfig): Map<string, number[]> {
  const expected = expectedMambaShapes(config);
  if (weights.unknownKeys.length > 0)
    throw new WeightsMismatchError(
      weights.unknownKeys[0],
      `unknown: not a tensor of a Mamba-1 LM (${weights.unknownKeys.length} such key(s) in ${weights.path})`,
    );
  for (const [name, shape] of expected) {
    if (!weights.has(name))
      throw new WeightsMismatchError(
        weights.sourceKey(name),
        `missing from ${weights.path} (expected shape [${shape}])`,
      );
  }
  for (const name of weights.keys()) {
    // A tied model may still store lm_head (Cobra saves it as the embedding's storage): accepted and unused.
    const shape =
      expected.get(name) ?? (name === LM_HEAD && config.tieEmbeddings ? expected.get(EMBEDDING) : undefined);
    if (!shape)
      throw new WeightsMismatchError(
        weights.sourceKey(name),
        `unknown: a model with ${describeConfig(config)} has no such tensor`,
      );
    const info = weights.info(name);
    if (info.shape.length !== shape.length || info.shape.some((s, i) => s !== shape[i]))
      throw new WeightsMismatchError(
        weights.sourceKey(name),
        `shape [${info.shape}] does not match [${shape}] expected from the config (${describeConfig(config)})`,
      );
    if (!FLOAT_DTYPES.has(info.dtype))
      throw new WeightsMismatchError(weights.sourceKey(name), `dtype ${info.dtype} is not a float type`);
  }
  return expected;
}
