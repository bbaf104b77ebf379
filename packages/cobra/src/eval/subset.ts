import { InvalidArgumentError } from "@cobra-ts/core";
import { PythonRandom } from "./random/python-random.js";
import type { SlimPool } from "./task.js";

/** vlm-evaluation's default seed for its slim subsets (`build_*_indices(..., seed=21)`). */
export const VLM_EVAL_SEED = 21;

/**
 * The first `limit` items as vlm-evaluation takes a slim set: the whole list (or the larger pool these items
 * are a part of) shuffled once by Python's `Random(seed).shuffle`, then walked in that order keeping this part's
 * items. Returned in the shuffled order.
 */
export function slimSubset<T>(
  items: readonly T[],
  limit: number,
  seed: number = VLM_EVAL_SEED,
  pool: Pick<SlimPool, "size" | "offset"> = { size: items.length, offset: 0 },
): T[] {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new InvalidArgumentError(`--limit must be a whole number >= 0, got ${limit}`);
  if (pool.offset < 0 || pool.offset + items.length > pool.size)
    throw new InvalidArgumentError(
      `the slim pool (${pool.size} items, this part at ${pool.offset}) cannot hold ${items.length} items`,
    );
  const order = new PythonRandom(seed).shuffle(Array.from({ length: pool.size }, (_, i) => i));
  const out: T[] = [];
  for (const i of order) {
    if (out.length >= limit) break;
    if (i >= pool.offset && i < pool.offset + items.length) out.push(items[i - pool.offset]);
  }
  return out;
}
