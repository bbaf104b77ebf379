import { open, readFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { FileNotFoundError, WeightsFormatError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { SafetensorsFile } from "./safetensors.js";
import type { TensorInfo, WeightSource } from "./source.js";
import { TorchCheckpoint } from "./torch/checkpoint.js";

/**
 * Opens a weights file of any supported format, chosen by content where the content says (a zip is a torch
 * checkpoint, an 8-byte length followed by `{` is safetensors) and by name otherwise:
 * - `*.index.json`: a sharded checkpoint (`model.safetensors.index.json` or `pytorch_model.bin.index.json`);
 * - a `torch.save` zip (`.pt`, `.pth`, `.bin`, `.ckpt`): TorchCheckpoint;
 * - `.safetensors`: SafetensorsFile.
 */
export async function openWeights(path: string): Promise<WeightSource> {
  if (path.endsWith(".index.json")) return openIndex(path);
  const head = await readHead(path);
  if (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    (head[2] === 3 || head[2] === 5) &&
    head[3] === head[2] + 1
  )
    return TorchCheckpoint.open(path); // "PK\x03\x04" (or "PK\x05\x06", an empty zip)
  if (head.length >= 9 && head[8] === 0x7b) return SafetensorsFile.open(path);
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5)
    throw new WeightsFormatError(
      path,
      "legacy (pre-1.6, non-zip) torch serialization format is not supported; re-save it with torch.save in torch >= 1.6, or convert it to safetensors",
    );
  const ext = extname(path).toLowerCase();
  if (ext === ".safetensors") return SafetensorsFile.open(path);
  if ([".pt", ".pth", ".bin", ".ckpt"].includes(ext)) return TorchCheckpoint.open(path);
  throw new WeightsFormatError(
    path,
    "unrecognised weights format: expected safetensors, a sharded index (.index.json) or a torch.save zip checkpoint",
  );
}

async function readHead(path: string): Promise<Buffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new FileNotFoundError(path, "weights file");
    throw e;
  }
  try {
    if ((await fh.stat()).isDirectory())
      throw new WeightsFormatError(path, "is a directory; pass the weights file (or its .index.json) itself");
    const buf = Buffer.alloc(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A sharded index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`): one reader per shard. */
async function openIndex(path: string): Promise<WeightSource> {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new FileNotFoundError(path, "weights index");
    throw new WeightsFormatError(path, "index is not valid JSON", { cause: e });
  }
  const map = index.weight_map;
  if (!map || typeof map !== "object" || Array.isArray(map))
    throw new WeightsFormatError(path, 'index has no "weight_map" object');
  return ShardedWeights.open(path, map as Record<string, unknown>);
}

/** Shards of any single-file format behind one index (safetensors or `pytorch_model-00001-of-00002.bin`). */
export class ShardedWeights implements WeightSource {
  private constructor(
    readonly path: string,
    private readonly shards: Map<string, WeightSource>,
    private readonly keyToShard: Map<string, string>,
  ) {}

  static async open(indexPath: string, weightMap: Record<string, unknown>): Promise<ShardedWeights> {
    const keyToShard = new Map<string, string>();
    for (const [key, shard] of Object.entries(weightMap)) {
      if (typeof shard !== "string" || shard !== basename(shard) || shard === "." || shard === "..")
        throw new WeightsFormatError(
          indexPath,
          `shard ${JSON.stringify(shard)} of "${key}" must be a plain file name`,
        );
      keyToShard.set(key, shard);
    }
    const shards = new Map<string, WeightSource>();
    try {
      for (const shard of new Set(keyToShard.values())) {
        const file = join(dirname(indexPath), shard);
        if (file.endsWith(".index.json"))
          throw new WeightsFormatError(indexPath, `shard ${JSON.stringify(shard)} is itself an index`);
        shards.set(shard, await openWeights(file));
      }
      for (const [key, shard] of keyToShard)
        if (!shards.get(shard)!.has(key))
          throw new WeightsFormatError(
            indexPath,
            `"${key}" is mapped to ${shard}, which does not contain it`,
          );
    } catch (e) {
      await Promise.all([...shards.values()].map((s) => s.close()));
      throw e;
    }
    return new ShardedWeights(indexPath, shards, keyToShard);
  }

  keys(): string[] {
    return [...this.keyToShard.keys()];
  }
  has(key: string): boolean {
    return this.keyToShard.has(key);
  }
  info(key: string): TensorInfo {
    return this.shard(key).info(key);
  }
  read(key: string): Promise<Tensor> {
    return this.shard(key).read(key);
  }
  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
  private shard(key: string): WeightSource {
    const name = this.keyToShard.get(key);
    if (!name) throw new WeightsFormatError(this.path, `no tensor named "${key}"`);
    return this.shards.get(name)!;
  }
}
