import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SafetensorsFile,
  type TensorToWrite,
  WeightsMismatchError,
  writeSafetensors,
} from "@cobra-ts/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePath, imageSize, pixelImages } from "../../test/fixtures.js";
import { VitEncoder } from "../encoders/vit-encoder.js";
import type { VitConfig } from "./config.js";
import { vitConfigFromTimmConfig } from "./config-files.js";
import { openVitRelease } from "./release.js";
import { maxAbs, maxAbsDiff, normalizeChwU8 } from "./test-helpers.js";

type Tensors = Record<string, TensorToWrite>;

describe("weights checked against the config", () => {
  let root = "";
  const dino: Tensors = {};
  let count = 0;
  /** The DINO release's config (the folder is timm-native: config.json + model.safetensors). */
  let config: VitConfig;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "cobra-vit-weights-"));
    config = vitConfigFromTimmConfig(
      JSON.parse(await readFile(fixturePath("release/dino/config.json"), "utf8")),
    );
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
    const key = `blocks.${Math.min(1, config.depth - 1)}.mlp.fc1.weight`;
    const [hidden, dim] = [config.mlpHidden, config.embedDim];
    const half = Math.floor(hidden / 2);
    const err = await mismatch({
      ...dino,
      [key]: {
        dtype: "F32",
        shape: [half, dim],
        data: (dino[key].data as Float32Array).slice(0, half * dim),
      },
    });
    expect(err.key).toBe(key);
    expect(
      err.message.startsWith(`${key}: shape [${half},${dim}] but the config implies [${hidden},${dim}]`),
    ).toBe(true);
  });

  it("names a missing tensor", async () => {
    const key = `blocks.${config.depth - 1}.norm2.bias`;
    const { [key]: _, ...rest } = dino;
    const err = await mismatch(rest);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`missing from the weights, but the config implies [${config.embedDim}]`);
  });

  it("names a trunk tensor the architecture does not have, but ignores unused heads", async () => {
    const dim = config.embedDim;
    const extra = { dtype: "F32" as const, shape: [dim], data: new Float32Array(dim) };
    const key = `blocks.${config.depth}.norm1.weight`;
    const err = await mismatch({ ...dino, [key]: extra });
    expect(err.key).toBe(key);
    expect(err.message).toContain(`not part of a ${config.architecture} trunk of depth ${config.depth}`);
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
    const dim = config.embedDim;
    // The stored table is the pretrained grid (plus prefix rows when pos_embed covers them).
    const rows = pe.shape[1];
    const grid = Math.round(Math.sqrt(rows - (config.noEmbedClass ? 0 : config.numPrefixTokens)));
    expect(grid).toBe(Math.floor(config.pretrainedImageSize / config.patchSize));
    const err = await mismatch({
      ...dino,
      pos_embed: {
        dtype: "F32",
        shape: [1, rows - 1, dim],
        data: (pe.data as Float32Array).slice(0, (rows - 1) * dim),
      },
    });
    expect(err.key).toBe("pos_embed");
    expect(err.message).toContain(`shape [1,${rows - 1},${dim}] but the config implies [1,${rows},${dim}]`);
  });

  it("a pos_embed already at the encoder's grid is used as it is", async () => {
    const image = pixelImages()[0];
    expect(image, "the set stores pixels for at least one image").toBeDefined();
    const expected = await SafetensorsFile.open(fixturePath("expected/tensors.safetensors"));
    try {
      const resampled = await expected.read("dino/pos_embed_resampled");
      const release = await openVitRelease(
        await dinoFolder({
          ...dino,
          pos_embed: { dtype: "F32", shape: resampled.shape, data: resampled.data },
        }),
        { imageSize: imageSize() },
      );
      const encoder = await VitEncoder.fromWeights(release.config, release.weights, "dino", { threads: 2 });
      const u8 = (await expected.read(`pixels/${image}/dino`)).data as Uint8Array;
      const got = await encoder.encode([
        normalizeChwU8(u8, release.config.data.mean, release.config.data.std),
      ]);
      const ref = (await expected.read(`features/${image}/dino`)).data as Float32Array;
      expect(maxAbsDiff(got.data, ref) / maxAbs(ref)).toBeLessThan(1e-4);
      await encoder.release();
      await release.weights.close();
    } finally {
      await expected.close();
    }
  });
});
