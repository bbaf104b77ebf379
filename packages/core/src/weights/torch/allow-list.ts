import { WeightsFormatError } from "../../errors.js";
import type { DType } from "../../tensor.js";
import { acceptsBuild, describe, PyDict, PyGlobal, refuseGlobal } from "./pickle.js";

/**
 * The globals a `torch.save`d state dict needs, and nothing else (the same spirit as
 * `torch.load(weights_only=True)`, but narrower). Tensors are not materialised: the rebuild functions return
 * descriptions (TensorRef) whose bytes are read later, on demand.
 */

/** A storage as named by a persistent id `('storage', <type>, key, location, numel)`. */
export interface StorageRef {
  /** The storage's key: its bytes live in the zip entry `<prefix>/data/<key>`. */
  key: string;
  dtype: DType;
  /** Number of elements of `dtype` the pickle says the storage holds. */
  numel: number;
  location: string;
}

/** A tensor as described by `_rebuild_tensor_v2`: a strided view into a storage (strides/offset in elements). */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

/** torch dtype objects (`torch.float32`, ...) may appear as plain values in a checkpoint; they stay inert. */
const TORCH_DTYPE_NAMES = new Set([
  "float32",
  "float",
  "float16",
  "half",
  "bfloat16",
  "float64",
  "double",
  "int64",
  "long",
  "int32",
  "int",
  "int16",
  "short",
  "int8",
  "uint8",
  "bool",
]);

/** Returns the storage dtype of a `torch.*Storage` global, or undefined for anything else. */
export function storageDType(v: unknown): DType | undefined {
  return v instanceof PyGlobal && v.module === "torch" && typeof v.data === "string"
    ? (v.data as DType)
    : undefined;
}

/** Builds the allow-list resolver for one pickle; `file`/`where` name it in errors. */
export function torchGlobals(file: string, where: string): (module: string, name: string) => PyGlobal {
  const bad = (problem: string): never => {
    throw new WeightsFormatError(file, `pickle ${where}: ${problem}`);
  };
  const int = (what: string, v: unknown): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      bad(`${what} must be a non-negative integer, got ${describe(v)}`);
    return v as number;
  };
  const ints = (what: string, v: unknown): number[] => {
    if (!Array.isArray(v)) bad(`${what} must be a tuple of integers, got ${describe(v)}`);
    return (v as unknown[]).map((x, i) => int(`${what}[${i}]`, x));
  };

  // _rebuild_tensor(storage, storage_offset, size, stride) and _v2 (+ requires_grad, backward_hooks[, metadata]).
  const rebuildTensor = (args: unknown[]): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageHandle))
      return bad(`tensor rebuilt from ${describe(storage)}, not a storage`);
    const shape = ints("tensor size", size);
    const strides = ints("tensor stride", stride);
    if (strides.length !== shape.length)
      bad(`tensor size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in rank`);
    return acceptsBuild(new TensorRef(storage.ref, int("storage offset", offset), shape, strides));
  };
  // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): a Parameter is its tensor for us.
  const rebuildParameter = (args: unknown[]): TensorRef => {
    if (!(args[0] instanceof TensorRef))
      return bad(`parameter rebuilt from ${describe(args[0])}, not a tensor`);
    return args[0];
  };
  // _rebuild_from_type_v2(func, new_type, args, state): func must itself be an allowed tensor rebuild.
  const rebuildFromType = (args: unknown[]): unknown => {
    const [func, , inner] = args;
    if (!(func instanceof PyGlobal) || !func.call || !func.name.startsWith("_rebuild_"))
      bad(`_rebuild_from_type_v2 with ${describe(func)}`);
    if (!Array.isArray(inner)) bad("_rebuild_from_type_v2 arguments must be a tuple");
    return (func as PyGlobal).call!(inner as unknown[]);
  };
  const orderedDict = (args: unknown[]): PyDict => {
    const d = new PyDict("collections.OrderedDict");
    const [pairs] = args;
    if (args.length > 1 || (pairs !== undefined && !Array.isArray(pairs)))
      bad("OrderedDict() with unsupported arguments");
    for (const p of (pairs as unknown[] | undefined) ?? []) {
      if (!Array.isArray(p) || p.length !== 2) bad("OrderedDict() items must be pairs");
      d.items.set((p as unknown[])[0], (p as unknown[])[1]);
    }
    return d;
  };

  return (module, name) => {
    if (module === "collections" && name === "OrderedDict") return new PyGlobal(module, name, orderedDict);
    if (module === "torch._utils") {
      if (name === "_rebuild_tensor" || name === "_rebuild_tensor_v2")
        return new PyGlobal(module, name, rebuildTensor);
      if (name === "_rebuild_parameter" || name === "_rebuild_parameter_with_state")
        return new PyGlobal(module, name, rebuildParameter);
    }
    if (module === "torch._tensor" && name === "_rebuild_from_type_v2")
      return new PyGlobal(module, name, rebuildFromType);
    if (module === "torch" && Object.hasOwn(STORAGE_DTYPES, name))
      return new PyGlobal(module, name, undefined, STORAGE_DTYPES[name]);
    if (module === "torch" && TORCH_DTYPE_NAMES.has(name)) return new PyGlobal(module, name);
    // Type markers passed to _rebuild_from_type_v2; not callable.
    if (
      (module === "torch" && name === "Tensor") ||
      (module === "torch.nn.parameter" && name === "Parameter")
    )
      return new PyGlobal(module, name);
    throw refuseGlobal(file, where, module, name);
  };
}

/** What persistent_load returns: wraps the StorageRef so a tensor can only be rebuilt from a real storage. */
export class StorageHandle {
  constructor(readonly ref: StorageRef) {}
}
