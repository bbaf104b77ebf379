import { readFile } from "node:fs/promises";
import { ConfigError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { resolveVitConfig } from "./config.js";
import { vitConfigFromOpenClipConfig, vitConfigFromTimmConfig } from "./config-files.js";
import { fixturePath } from "./test-helpers.js";

const json = async (path: string) => JSON.parse(await readFile(fixturePath(path), "utf8"));

describe("ViT config", () => {
  it("reads the fixture's timm config.json (model_args over the registered DINOv2-reg4)", async () => {
    const c = vitConfigFromTimmConfig(await json("release/dino/config.json"));
    expect(c).toMatchObject({
      architecture: "vit_large_patch14_reg4_dinov2",
      embedDim: 32,
      depth: 4,
      numHeads: 2,
      headDim: 16,
      mlpHidden: 128,
      layerScale: true,
      numPrefixTokens: 5,
      noEmbedClass: true,
      pretrainedImageSize: 518,
      imageSize: 384,
      gridSize: 27,
      numPatches: 729,
      featureBlock: 2,
      data: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], interpolation: "bicubic" },
    });
  });

  it("reads the fixture's open_clip config (timm_model_args)", async () => {
    const c = vitConfigFromOpenClipConfig(await json("release/siglip/open_clip_config.json"));
    expect(c).toMatchObject({
      architecture: "vit_so400m_patch14_siglip_384",
      embedDim: 24,
      mlpHidden: 89,
      layerScale: false,
      classToken: false,
      numPrefixTokens: 0,
      globalPool: "map",
      featureBlock: 2,
      data: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
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
