import { copyFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileNotFoundError, WeightsFormatError } from "../errors.js";
import { openWeights, ShardedWeights } from "./open.js";
import { SafetensorsFile, writeSafetensors } from "./safetensors.js";
import { FIXTURES, f32Bytes, stateDictPickle, tempDir, torchZip, writeTemp } from "./test-utils.js";
import { TorchCheckpoint } from "./torch/checkpoint.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function kindOf(path: string): Promise<string> {
  const w = await openWeights(path);
  try {
    return w.constructor.name;
  } finally {
    await w.close();
  }
}

describe("openWeights picks the format", () => {
  it("by content for the fixture files", async () => {
    expect(await kindOf(join(FIXTURES, "release/cobra/checkpoints/latest-checkpoint.pt"))).toBe(
      TorchCheckpoint.name,
    );
    expect(await kindOf(join(FIXTURES, "release/siglip/open_clip_pytorch_model.bin"))).toBe(
      TorchCheckpoint.name,
    );
    expect(await kindOf(join(FIXTURES, "release/dino/model.safetensors"))).toBe(SafetensorsFile.name);
  });

  it("by content even when the extension lies", async () => {
    const pt = join(dir, "actually-a-zip.safetensors");
    await copyFile(join(FIXTURES, "release/cobra/checkpoints/latest-checkpoint.pt"), pt);
    expect(await kindOf(pt)).toBe(TorchCheckpoint.name);
    const st = join(dir, "actually-safetensors.bin");
    await copyFile(join(FIXTURES, "release/dino/model.safetensors"), st);
    expect(await kindOf(st)).toBe(SafetensorsFile.name);
  });

  it("a sharded safetensors index", async () => {
    await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), {
      a: { dtype: "F32", shape: [1], data: Float32Array.of(1) },
    });
    await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), {
      b: { dtype: "F32", shape: [1], data: Float32Array.of(2) },
    });
    const index = join(dir, "model.safetensors.index.json");
    await writeFile(
      index,
      JSON.stringify({
        weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
      }),
    );
    const w = await openWeights(index);
    try {
      expect(w).toBeInstanceOf(ShardedWeights);
      expect(Array.from((await w.read("b")).data as Float32Array)).toEqual([2]);
    } finally {
      await w.close();
    }
  });

  it("a sharded torch index (pytorch_model.bin.index.json)", async () => {
    const shard = (key: string, v: number) =>
      torchZip("archive", stateDictPickle([{ key, storageKey: "0", storageNumel: 1, shape: [1] }]), {
        "0": f32Bytes([v]),
      });
    await writeTemp(dir, "pytorch_model-00001-of-00002.bin", shard("x", 3));
    await writeTemp(dir, "pytorch_model-00002-of-00002.bin", shard("y", 4));
    const index = join(dir, "pytorch_model.bin.index.json");
    await writeFile(
      index,
      JSON.stringify({
        weight_map: { x: "pytorch_model-00001-of-00002.bin", y: "pytorch_model-00002-of-00002.bin" },
      }),
    );
    const w = await openWeights(index);
    try {
      expect(w).toBeInstanceOf(ShardedWeights);
      expect(w.keys()).toEqual(["x", "y"]);
      expect(w.info("y")).toEqual({ dtype: "F32", shape: [1] });
      expect(Array.from((await w.read("x")).data as Float32Array)).toEqual([3]);
      expect(Array.from((await w.read("y")).data as Float32Array)).toEqual([4]);
    } finally {
      await w.close();
    }
  });

  it("refuses shard names that leave the index's folder", async () => {
    const index = join(dir, "evil.bin.index.json");
    await writeFile(index, JSON.stringify({ weight_map: { x: "../elsewhere.bin" } }));
    await expect(openWeights(index)).rejects.toThrow(
      /shard "\.\.\/elsewhere\.bin" of "x" must be a plain file name/,
    );
  });

  it("refuses the legacy (pre-zip) torch format, unknown content, missing files and folders", async () => {
    const legacy = await writeTemp(
      dir,
      "old.pt",
      Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
    );
    await expect(openWeights(legacy)).rejects.toThrow(
      /old\.pt: legacy \(pre-1\.6, non-zip\) torch serialization format is not supported/,
    );
    const junk = await writeTemp(dir, "junk.weights", Buffer.from("just some text, nothing else"));
    const err = await openWeights(junk).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WeightsFormatError);
    expect((err as Error).message).toMatch(/junk\.weights: unrecognised weights format/);
    await expect(openWeights(join(dir, "missing.pt"))).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(openWeights(dir)).rejects.toThrow(/is a directory/);
  });
});
