import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsFile, type TensorToWrite, WeightsMismatchError, writeSafetensors } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VitEncoder } from "../encoders/vit-encoder.js";
import { openVitRelease } from "./release.js";
import { fixturePath, maxAbs, maxAbsDiff, normalizeChwU8 } from "./test-helpers.js";

type Tensors = Record<string, TensorToWrite>;

describe("weights checked against the config", () => {
  let root = "";
  const dino: Tensors = {};
  let count = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "cobra-vit-weights-"));
    const file = await SafetensorsFile.open(fixturePath("release/dino/model.safetensors"));
    for (const key of file.keys()) {
      const t = await file.read(key);
      dino[key] = { dtype: "F32", shape: t.shape, data: t.data };
    }
    await file.close();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A DINO release folder with the fixture's config.json and the given tensors. */
  async function dinoFolder(tensors: Tensors): Promise<string> {
    const dir = join(root, `dino-${count++}`);
    await mkdir(dir);
    await copyFile(fixturePath("release/dino/config.json"), join(dir, "config.json"));
    await writeSafetensors(join(dir, "model.safetensors"), tensors);
    return dir;
  }

  async function mismatch(tensors: Tensors): Promise<WeightsMismatchError> {
    const err = await openVitRelease(await dinoFolder(tensors)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WeightsMismatchError);
    return err as WeightsMismatchError;
  }

  it("names a tensor whose shape contradicts the config", async () => {
    const fc1 = dino["blocks.1.mlp.fc1.weight"];
    const err = await mismatch({
      ...dino,
      "blocks.1.mlp.fc1.weight": {
        dtype: "F32",
        shape: [64, 32],
        data: (fc1.data as Float32Array).slice(0, 64 * 32),
      },
    });
    expect(err.key).toBe("blocks.1.mlp.fc1.weight");
    expect(err.message).toMatch(
      /^blocks\.1\.mlp\.fc1\.weight: shape \[64,32\] but the config implies \[128,32\]/,
    );
  });

  it("names a missing tensor", async () => {
    const { "blocks.3.norm2.bias": _, ...rest } = dino;
    const err = await mismatch(rest);
    expect(err.key).toBe("blocks.3.norm2.bias");
    expect(err.message).toMatch(/missing from the weights, but the config implies \[32\]/);
  });

  it("names a trunk tensor the architecture does not have, but ignores unused heads", async () => {
    const extra = { dtype: "F32" as const, shape: [32], data: new Float32Array(32) };
    const err = await mismatch({ ...dino, "blocks.4.norm1.weight": extra });
    expect(err.key).toBe("blocks.4.norm1.weight");
    expect(err.message).toMatch(/not part of a vit_large_patch14_reg4_dinov2 trunk of depth 4/);
    const release = await openVitRelease(
      await dinoFolder({ ...dino, "head.weight": extra, "attn_pool.latent": extra }),
    );
    await release.weights.close();
  });

  it("says which files a release folder lacks", async () => {
    const dir = join(root, "empty");
    await mkdir(dir);
    await expect(openVitRelease(dir)).rejects.toThrow(
      /config\.json \+ model\.safetensors, or open_clip_config\.json/,
    );
  });

  it("refuses a pos_embed that is not a square grid", async () => {
    const pe = dino.pos_embed;
    const err = await mismatch({
      ...dino,
      pos_embed: { dtype: "F32", shape: [1, 1368, 32], data: (pe.data as Float32Array).slice(0, 1368 * 32) },
    });
    expect(err.key).toBe("pos_embed");
    expect(err.message).toMatch(/shape \[1,1368,32\] but the config implies \[1,1369,32\]/);
  });

  it("a pos_embed already at the 27x27 grid is used as it is", async () => {
    const expected = await SafetensorsFile.open(fixturePath("expected/tensors.safetensors"));
    try {
      const resampled = await expected.read("dino/pos_embed_resampled");
      const release = await openVitRelease(
        await dinoFolder({
          ...dino,
          pos_embed: { dtype: "F32", shape: resampled.shape, data: resampled.data },
        }),
      );
      const encoder = await VitEncoder.fromWeights(release.config, release.weights, "dino", { threads: 2 });
      const u8 = (await expected.read("pixels/rocket/dino")).data as Uint8Array;
      const got = await encoder.encode([
        normalizeChwU8(u8, release.config.data.mean, release.config.data.std),
      ]);
      const ref = (await expected.read("features/rocket/dino")).data as Float32Array;
      expect(maxAbsDiff(got.data, ref) / maxAbs(ref)).toBeLessThan(1e-4);
      await encoder.release();
      await release.weights.close();
    } finally {
      await expected.close();
    }
  });
});
