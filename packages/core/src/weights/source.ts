import { InvalidArgumentError } from "../errors.js";
import type { DType, Tensor } from "../tensor.js";

/** What is known about a stored tensor before its bytes are read. */
export interface TensorInfo {
  /** The dtype as stored. Reads return F32 for every float storage (F16/BF16/F64 are widened). */
  dtype: DType;
  shape: number[];
}

/**
 * A read-only collection of named tensors on disk, read one tensor at a time so that a checkpoint of many
 * gigabytes never has to sit in memory whole. Implemented by every weights format the project reads.
 */
export interface WeightSource {
  /** The file (or index file) the tensors come from; used in error messages. */
  readonly path: string;
  keys(): string[];
  has(key: string): boolean;
  info(key: string): TensorInfo;
  /** Reads one tensor; float storages come back as F32, integer ones in their own type. */
  read(key: string): Promise<Tensor>;
  close(): Promise<void>;
}

/** Returns a view of `source` holding only the keys under `prefix`, with the prefix stripped. */
export function withPrefix(source: WeightSource, prefix: string): WeightSource {
  const keys = source
    .keys()
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
  const set = new Set(keys);
  return {
    path: `${source.path} [${prefix}*]`,
    keys: () => keys,
    has: (k) => set.has(k),
    info: (k) => source.info(prefix + k),
    read: (k) => source.read(prefix + k),
    close: () => source.close(),
  };
}

/** Returns a view of `source` holding only `keys` (those it has), e.g. a graph's weights without its constants. */
export function onlyKeys(source: WeightSource, keys: Iterable<string>): WeightSource {
  const set = new Set([...keys].filter((k) => source.has(k)));
  const check = (k: string) => {
    if (!set.has(k)) throw new InvalidArgumentError(`${source.path} holds no tensor "${k}" here`);
    return k;
  };
  return {
    path: source.path,
    keys: () => [...set],
    has: (k) => set.has(k),
    info: (k) => source.info(check(k)),
    read: (k) => source.read(check(k)),
    close: () => source.close(),
  };
}
