import { type LanguageModelInput as ForwardInput, InvalidArgumentError, type TokenIds } from "@cobra-ts/core";
import type { LanguageModelDims } from "./state-dims.js";

export type { FloatRows, LanguageModelInput as ForwardInput, TokenIds } from "@cobra-ts/core";

export interface CheckedInput {
  batch: number;
  prefixLength: number;
  prefix: Float32Array;
  idCount: number;
  ids: BigInt64Array;
}

function idRows(ids: TokenIds | undefined): readonly (readonly number[])[] | null {
  if (ids === undefined) return null;
  if (!Array.isArray(ids))
    throw new InvalidArgumentError("ids must be an array of token ids or an array of rows");
  if (ids.length === 0) return null; // no ids (any batch): the prefix alone
  if (Array.isArray(ids[0])) return ids as readonly (readonly number[])[];
  return [ids as readonly number[]];
}

/** Validates a forward input against the model and packs it into the graph's tensors' data. */
export function checkForwardInput(input: ForwardInput, dims: LanguageModelDims): CheckedInput {
  const rows = idRows(input.ids);
  const prefix = input.prefixEmbeds;
  let batch = rows?.length ?? 0;
  let prefixLength = 0;
  if (prefix) {
    const s = prefix.shape;
    if (s.length !== 3 || s[2] !== dims.dModel)
      throw new InvalidArgumentError(
        `prefixEmbeds must have shape [batch, positions, ${dims.dModel}], got [${s}]`,
      );
    if (prefix.data.length !== s[0] * s[1] * s[2])
      throw new InvalidArgumentError(
        `prefixEmbeds holds ${prefix.data.length} floats, its shape [${s}] needs ${s[0] * s[1] * s[2]}`,
      );
    if (rows && rows.length !== s[0])
      throw new InvalidArgumentError(`prefixEmbeds has batch ${s[0]} but ids have ${rows.length} row(s)`);
    batch = s[0];
    prefixLength = s[1];
  }
  if (batch < 1)
    throw new InvalidArgumentError("nothing to run: give ids and/or prefixEmbeds with batch >= 1");
  const length = rows?.[0].length ?? 0;
  const ids = new BigInt64Array(batch * length);
  rows?.forEach((row, r) => {
    if (row.length !== length)
      throw new InvalidArgumentError(
        `all id rows must have the same length (row 0 has ${length}, row ${r} has ${row.length}); prefill rows separately and MambaState.stack the states`,
      );
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= dims.vocabSize)
        throw new InvalidArgumentError(
          `token id ${id} at row ${r}, position ${t} is outside the vocabulary [0, ${dims.vocabSize})`,
        );
      ids[r * length + t] = BigInt(id);
    });
  });
  if (prefixLength + length === 0)
    throw new InvalidArgumentError("nothing to run: ids and prefixEmbeds are both empty");
  return { batch, prefixLength, prefix: prefix?.data ?? new Float32Array(0), idCount: length, ids };
}
