import { type FileHandle, open } from "node:fs/promises";
import { FileNotFoundError, WeightsFormatError } from "../../errors.js";
import { DTYPE_BYTES, numel, type Tensor } from "../../tensor.js";
import type { TensorInfo, WeightSource } from "../source.js";
import { decodeStorage, readDType } from "../storage.js";
import { StorageHandle, type StorageRef, storageDType, TensorRef, torchGlobals } from "./allow-list.js";
import { describe, PyDict, unpickle } from "./pickle.js";
import { ZipArchive } from "./zip.js";

/** data.pkl of a real checkpoint is a few hundred KB to a few MB; anything this large is refused. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;

/** Where a tensor's bytes live inside the checkpoint. */
export interface TorchTensorLocation {
  /** The storage's key (`data/<key>` in the zip). Tensors with the same key share bytes. */
  storageKey: string;
  /** The zip entry holding the storage. */
  entry: string;
  /** Byte offset of the tensor's first element inside the storage. */
  byteOffset: number;
  /** Bytes of the storage the tensor spans (numel * element size when contiguous). */
  byteLength: number;
  /** Strides in elements, as pickled. */
  stride: number[];
  /** Row-major contiguous; otherwise reads gather the elements. */
  contiguous: boolean;
}

/**
 * A `torch.save` checkpoint (zip format: `.pt`, `.pth`, `.bin`), read without executing its pickle.
 *
 * Opening reads the zip central directory and interprets `<prefix>/data.pkl` (the folder name varies: it is
 * the name the file was first saved under) with an allow-list of globals; no storage bytes are read until
 * `read`. Nested dicts are flattened into dotted keys: `{"model": {"projector": {"0.weight": t}}}` gives
 * `model.projector.0.weight`. Non-tensor values (numbers, strings, lists, and tensors inside lists) are
 * skipped. Several keys may share one storage (tied weights); each is read from the same bytes.
 */
export class TorchCheckpoint implements WeightSource {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly zip: ZipArchive,
    /** The archive's inner folder name (`archive` for most files). */
    readonly prefix: string,
    private readonly tensors: Map<string, TensorRef>,
    private readonly storages: Map<string, StorageRef>,
  ) {}

  static async open(path: string): Promise<TorchCheckpoint> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT")
        throw new FileNotFoundError(path, "torch checkpoint");
      throw e;
    }
    try {
      const zip = await ZipArchive.open(fh, path);
      const prefix = findPrefix(zip);
      await checkByteOrder(zip, prefix);
      const pklName = `${prefix}/data.pkl`;
      const pkl = await zip.readWhole(pklName, MAX_PICKLE_BYTES);
      const storages = new Map<string, StorageRef>();
      const handles = new Map<string, StorageHandle>();
      const root = unpickle(pkl, {
        file: path,
        where: pklName,
        resolveGlobal: torchGlobals(path, pklName),
        persistentLoad: (pid) => loadStorage(path, pklName, pid, storages, handles),
      });
      const tensors = flatten(path, root);
      for (const [key, t] of tensors) checkAgainstZip(zip, prefix, key, t);
      return new TorchCheckpoint(path, fh, zip, prefix, tensors, storages);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  info(key: string): TensorInfo {
    const t = this.tensor(key);
    return { dtype: t.storage.dtype, shape: [...t.shape] };
  }

  /** Number of distinct storages the pickle references (fewer than tensors when weights are tied). */
  get storageCount(): number {
    return this.storages.size;
  }

  location(key: string): TorchTensorLocation {
    const t = this.tensor(key);
    const elem = DTYPE_BYTES[t.storage.dtype];
    return {
      storageKey: t.storage.key,
      entry: `${this.prefix}/data/${t.storage.key}`,
      byteOffset: t.storageOffset * elem,
      byteLength: spanElements(t.shape, t.stride) * elem,
      stride: [...t.stride],
      contiguous: isContiguous(t.shape, t.stride),
    };
  }

  async read(key: string): Promise<Tensor> {
    const t = this.tensor(key);
    const bytes = await this.readRaw(key);
    return {
      dtype: readDType(t.storage.dtype),
      shape: [...t.shape],
      data: decodeStorage(this.path, key, t.storage.dtype, bytes),
    };
  }

  /** The tensor's elements in row-major order, as stored (no dtype conversion). */
  async readRaw(key: string): Promise<Buffer> {
    const t = this.tensor(key);
    const loc = this.location(key);
    if (numel(t.shape) === 0) return Buffer.alloc(0);
    const bytes = await this.zip.readRange(loc.entry, loc.byteOffset, loc.byteLength);
    return loc.contiguous ? bytes : gather(bytes, t.shape, t.stride, DTYPE_BYTES[t.storage.dtype]);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private tensor(key: string): TensorRef {
    const t = this.tensors.get(key);
    if (!t) throw new WeightsFormatError(this.path, `no tensor named "${key}"`);
    return t;
  }
}

/** The inner folder: torch names it after the file it first saved to, so find `<folder>/data.pkl`. */
function findPrefix(zip: ZipArchive): string {
  const found = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (found.length === 0)
    throw new WeightsFormatError(
      zip.file,
      "no <folder>/data.pkl entry in the zip: not a torch.save checkpoint",
    );
  if (found.length > 1)
    throw new WeightsFormatError(
      zip.file,
      `several data.pkl entries (${found.join(", ")}); which one is the checkpoint is ambiguous`,
    );
  return found[0].slice(0, -"/data.pkl".length);
}

/** torch >= 2.1 records the byte order of the storages; everything here decodes little-endian. */
async function checkByteOrder(zip: ZipArchive, prefix: string): Promise<void> {
  const name = `${prefix}/byteorder`;
  if (!zip.entries.has(name)) return;
  const order = (await zip.readWhole(name, 64)).toString("latin1").trim();
  if (order !== "little")
    throw new WeightsFormatError(
      zip.file,
      `storages are stored ${JSON.stringify(order)}-endian; only little-endian is supported`,
    );
}

/** persistent_load: `('storage', torch.<T>Storage, key, location, numel)` -> one shared handle per key. */
function loadStorage(
  file: string,
  where: string,
  pid: unknown,
  storages: Map<string, StorageRef>,
  handles: Map<string, StorageHandle>,
): StorageHandle {
  const bad = (problem: string): never => {
    throw new WeightsFormatError(file, `pickle ${where}: persistent id ${problem}`);
  };
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage")
    return bad(`must be ('storage', type, key, location, numel), got ${describe(pid)}`);
  const [, type, rawKey, location, count] = pid;
  const dtype = storageDType(type);
  if (!dtype) return bad(`names ${describe(type)}, not a torch storage type`);
  if (typeof rawKey !== "string" && typeof rawKey !== "number")
    return bad(`key must be a string, got ${describe(rawKey)}`);
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0)
    return bad(`numel must be a non-negative integer, got ${describe(count)}`);
  const key = String(rawKey);
  const known = storages.get(key);
  if (known) {
    if (known.dtype !== dtype) bad(`storage "${key}" is referenced as both ${known.dtype} and ${dtype}`);
    return handles.get(key)!;
  }
  const ref: StorageRef = {
    key,
    dtype,
    numel: count,
    location: typeof location === "string" ? location : String(location),
  };
  const handle = new StorageHandle(ref);
  storages.set(key, ref);
  handles.set(key, handle);
  return handle;
}

/** Flattens nested dicts into dotted keys; see TorchCheckpoint. */
function flatten(file: string, root: unknown): Map<string, TensorRef> {
  if (!(root instanceof PyDict))
    throw new WeightsFormatError(file, `the checkpoint holds a ${describe(root)}, not a dict of tensors`);
  const out = new Map<string, TensorRef>();
  const path: PyDict[] = [];
  const walk = (dict: PyDict, prefix: string) => {
    if (path.includes(dict)) throw new WeightsFormatError(file, `dict at "${prefix}" contains itself`);
    path.push(dict);
    for (const [k, v] of dict.items) {
      if (!(v instanceof TensorRef) && !(v instanceof PyDict)) continue;
      if (typeof k !== "string" && typeof k !== "number" && typeof k !== "bigint")
        throw new WeightsFormatError(
          file,
          `dict at "${prefix}" has a ${describe(k)} key; only string and integer keys can name tensors`,
        );
      const key = prefix + String(k);
      if (v instanceof PyDict) walk(v, `${key}.`);
      else if (out.has(key))
        throw new WeightsFormatError(file, `two tensors flatten to the same key "${key}"`);
      else out.set(key, v);
    }
    path.pop();
  };
  walk(root, "");
  return out;
}

/** Checks (from the central directory only) that a tensor's bytes exist where the pickle says. */
function checkAgainstZip(zip: ZipArchive, prefix: string, key: string, t: TensorRef): void {
  const s = t.storage;
  const name = `${prefix}/data/${s.key}`;
  const entry = zip.entries.get(name);
  if (!entry)
    throw new WeightsFormatError(
      zip.file,
      `tensor "${key}" uses storage "${s.key}", but the zip has no entry ${JSON.stringify(name)}`,
    );
  if (entry.compressionMethod !== 0)
    throw new WeightsFormatError(
      zip.file,
      `tensor "${key}": zip entry ${JSON.stringify(name)} is compressed (method ${entry.compressionMethod}); torch storages must be stored uncompressed`,
    );
  const elem = DTYPE_BYTES[s.dtype];
  const declared = s.numel * elem;
  if (entry.uncompressedSize < declared)
    throw new WeightsFormatError(
      zip.file,
      `storage ${JSON.stringify(name)} holds ${entry.uncompressedSize} bytes, but the pickle declares ${s.numel} ${s.dtype} elements (${declared} bytes)`,
    );
  const end = numel(t.shape) === 0 ? 0 : t.storageOffset + spanElements(t.shape, t.stride);
  if (end > s.numel)
    throw new WeightsFormatError(
      zip.file,
      `tensor "${key}" ${s.dtype} ${JSON.stringify(t.shape)} at offset ${t.storageOffset} needs ${end} elements of storage "${s.key}", which holds ${s.numel}`,
    );
}

/** Row-major contiguous, ignoring the strides of size-1 dims (torch leaves arbitrary values there). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Elements from the first to the last element of a strided view, inclusive. */
function spanElements(shape: number[], stride: number[]): number {
  if (numel(shape) === 0) return 0;
  let span = 1;
  for (let i = 0; i < shape.length; i++) span += (shape[i] - 1) * stride[i];
  return span;
}

/** Copies a strided view into row-major order. */
function gather(src: Buffer, shape: number[], stride: number[], elem: number): Buffer {
  const n = numel(shape);
  const out = Buffer.allocUnsafe(n * elem);
  const idx = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    src.copy(out, i * elem, at * elem, at * elem + elem);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      at += stride[d];
      if (idx[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}
