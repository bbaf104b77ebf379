import { readFile } from "node:fs/promises";
import { ConfigError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import {
  fixturePath,
  haveFixtures,
  imageSize,
  manifest,
  normalization,
  vitReleaseFormat,
} from "../../test/fixtures.js";
import { resolveVitConfig } from "./config.js";
import { vitConfigFromOpenClipConfig, vitConfigFromTimmConfig } from "./config-files.js";

const json = async (path: string) => JSON.parse(await readFile(fixturePath(path), "utf8"));

/** The tower's config as its release folder ships it (timm config.json, or open_clip's for SigLIP). */
async function releaseConfig(encoder: "dino" | "siglip", size: number) {
  return vitReleaseFormat(encoder) === "open_clip"
    ? vitConfigFromOpenClipConfig(await json(`release/${encoder}/open_clip_config.json`), { imageSize: size })
    : vitConfigFromTimmConfig(await json(`release/${encoder}/config.json`), { imageSize: size });
}

describe("ViT config", () => {
  // Expected values: the oracle's own record of the timm kwargs (expected/manifest.json dims).
  it("reads the fixture's DINO config (model_args over the registered DINOv2-reg4)", async () => {
    const { dims } = manifest();
    const d = dims.dino;
    const size = imageSize();
    const grid = Math.floor(size / d.patch_size);
    const c = await releaseConfig("dino", size);
    expect(c).toMatchObject({
      architecture: "vit_large_patch14_reg4_dinov2",
      patchSize: d.patch_size,
      embedDim: d.embed_dim,
      depth: d.depth,
      numHeads: d.num_heads,
      headDim: d.embed_dim / d.num_heads,
      mlpHidden: d.mlp_hidden,
      layerScale: d.init_values != null,
      regTokens: d.reg_tokens,
      numPrefixTokens: d.num_prefix_tokens,
      noEmbedClass: d.no_embed_class,
      pretrainedImageSize: d.native_img_size,
      imageSize: size,
      gridSize: grid,
      numPatches: grid * grid,
      featureBlock: d.feature_block_index,
      data: { ...normalization("dino"), interpolation: "bicubic" },
    });
    expect(c.numPatches).toBe(dims.num_patches);
  });

  it(`reads the fixture's SigLIP config (${haveFixtures ? vitReleaseFormat("siglip") : "?"} release)`, async () => {
    const { dims } = manifest();
    const d = dims.siglip;
    const size = imageSize();
    const grid = Math.floor(size / d.patch_size);
    const c = await releaseConfig("siglip", size);
    expect(c.architecture.replace(/\.[^.]*$/, "")).toBe("vit_so400m_patch14_siglip_384");
    expect(c).toMatchObject({
      patchSize: d.patch_size,
      embedDim: d.embed_dim,
      depth: d.depth,
      numHeads: d.num_heads,
      headDim: d.embed_dim / d.num_heads,
      mlpHidden: d.mlp_hidden,
      layerScale: false,
      classToken: false,
      numPrefixTokens: 0,
      globalPool: d.global_pool,
      gridSize: grid,
      numPatches: dims.num_patches,
      featureBlock: d.feature_block_index,
      data: normalization("siglip"),
    });
  });

  it("knows the real Cobra towers by timm id when model_args are absent", () => {
    const dino = resolveVitConfig("vit_large_patch14_reg4_dinov2.lvd142m", undefined);
    expect(dino).toMatchObject({
      embedDim: 1024,
      depth: 24,
      numHeads: 16,
      mlpHidden: 4096,
      regTokens: 4,
      numPrefixTokens: 5,
    });
    expect(dino).toMatchObject({
      noEmbedClass: true,
      layerScale: true,
      pretrainedImageSize: 518,
      gridSize: 27,
      featureBlock: 22,
    });
    const siglip = resolveVitConfig("vit_so400m_patch14_siglip_384", undefined);
    expect(siglip).toMatchObject({
      embedDim: 1152,
      depth: 27,
      numHeads: 16,
      headDim: 72,
      mlpHidden: 4304,
      numPrefixTokens: 0,
    });
    expect(siglip).toMatchObject({
      layerScale: false,
      globalPool: "map",
      pretrainedImageSize: 384,
      featureBlock: 25,
    });
    expect(resolveVitConfig("vit_large_patch14_dinov2.lvd142m", undefined)).toMatchObject({
      numPrefixTokens: 1,
      noEmbedClass: false,
    });
    expect(resolveVitConfig("vit_base_patch16_siglip_224", undefined, { imageSize: 224 })).toMatchObject({
      gridSize: 14,
      mlpHidden: 3072,
    });
  });

  it("reads a real-style open_clip config without timm_model_args from the registry", () => {
    const c = vitConfigFromOpenClipConfig({
      model_cfg: {
        vision_cfg: {
          image_size: 384,
          timm_model_name: "vit_so400m_patch14_siglip_384",
          timm_pool: "map",
          timm_proj: "none",
        },
      },
      preprocess_cfg: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: "bicubic" },
    });
    expect([c.embedDim, c.depth, c.mlpHidden]).toEqual([1152, 27, 4304]);
  });

  it("refuses what it cannot build, saying why", () => {
    expect(() => resolveVitConfig("vit_giant_patch14_reg4_dinov2", undefined)).toThrow(ConfigError);
    expect(() => resolveVitConfig("vit_large_patch14_dinov2", { qk_norm: true })).toThrow(
      /qk_norm=true is not supported/,
    );
    expect(() => resolveVitConfig("vit_large_patch14_dinov2", { mlp_layer: "SwiGLUPacked" })).toThrow(
      /mlp_layer is not supported/,
    );
    expect(() => resolveVitConfig("vit_large_patch14_dinov2", { embed_dim: 100 })).toThrow(
      /not divisible by num_heads/,
    );
    expect(() => resolveVitConfig("vit_large_patch14_dinov2", undefined, { featureBlock: 24 })).toThrow(
      /outside 0..23/,
    );
    expect(() => vitConfigFromOpenClipConfig({ model_cfg: { vision_cfg: { layers: 12 } } })).toThrow(
      /timm_model_name/,
    );
  });
});
