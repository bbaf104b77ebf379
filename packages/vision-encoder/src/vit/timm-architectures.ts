/**
 * The timm (v0.9.10) VisionTransformer entry points this package can build, with the arguments their
 * `@register_model` functions pass and the data config of their pretrained tags. Used when a release's config
 * names an architecture but carries no `model_args` (real timm hub and open_clip configs do not).
 */

/** The subset of timm's `VisionTransformer.__init__` arguments that changes what a ViT computes. */
export interface TimmVitArgs {
  patch_size: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  /** LayerScale init value; LayerScale (ls1/ls2 gamma) exists only when this is set. */
  init_values: number | null;
  class_token: boolean;
  no_embed_class: boolean;
  reg_tokens: number;
  global_pool: "" | "avg" | "token" | "map";
  /** The image size the model is registered (and pretrained) at. */
  img_size: number;
}

/** Pretrained data config (`pretrained_cfg`): what the weights expect of their input pixels. */
export interface TimmDataConfig {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: "bicubic" | "bilinear";
}

export interface TimmArchitecture {
  args: TimmVitArgs;
  data: TimmDataConfig;
}

/** timm's `VisionTransformer.__init__` defaults. */
export const TIMM_VIT_DEFAULTS: TimmVitArgs = {
  patch_size: 16,
  embed_dim: 768,
  depth: 12,
  num_heads: 12,
  mlp_ratio: 4,
  qkv_bias: true,
  init_values: null,
  class_token: true,
  no_embed_class: false,
  reg_tokens: 0,
  global_pool: "token",
  img_size: 224,
};

export const IMAGENET_DEFAULT: TimmDataConfig = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  interpolation: "bicubic",
};
/** timm's `_cfg` default (IMAGENET_INCEPTION_MEAN/STD), which the SigLIP tags keep. */
export const INCEPTION_DEFAULT: TimmDataConfig = {
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  interpolation: "bicubic",
};

function dinov2(embed_dim: number, depth: number, num_heads: number, registers: boolean): TimmArchitecture {
  return {
    args: {
      ...TIMM_VIT_DEFAULTS,
      patch_size: 14,
      embed_dim,
      depth,
      num_heads,
      init_values: 1e-5,
      img_size: 518,
      ...(registers ? { reg_tokens: 4, no_embed_class: true } : {}),
    },
    data: IMAGENET_DEFAULT,
  };
}

function siglip(
  patch_size: number,
  embed_dim: number,
  depth: number,
  num_heads: number,
  mlp_ratio: number,
  img_size: number,
): TimmArchitecture {
  return {
    args: {
      ...TIMM_VIT_DEFAULTS,
      patch_size,
      embed_dim,
      depth,
      num_heads,
      mlp_ratio,
      class_token: false,
      global_pool: "map",
      img_size,
    },
    data: INCEPTION_DEFAULT,
  };
}

/** Keyed by timm model name without the pretrained tag (`.lvd142m`, `.webli`). */
export const TIMM_VIT_ARCHITECTURES: Readonly<Record<string, TimmArchitecture>> = {
  vit_small_patch14_dinov2: dinov2(384, 12, 6, false),
  vit_base_patch14_dinov2: dinov2(768, 12, 12, false),
  vit_large_patch14_dinov2: dinov2(1024, 24, 16, false),
  vit_small_patch14_reg4_dinov2: dinov2(384, 12, 6, true),
  vit_base_patch14_reg4_dinov2: dinov2(768, 12, 12, true),
  vit_large_patch14_reg4_dinov2: dinov2(1024, 24, 16, true),
  vit_base_patch16_siglip_224: siglip(16, 768, 12, 12, 4, 224),
  vit_base_patch16_siglip_256: siglip(16, 768, 12, 12, 4, 256),
  vit_base_patch16_siglip_384: siglip(16, 768, 12, 12, 4, 384),
  vit_base_patch16_siglip_512: siglip(16, 768, 12, 12, 4, 512),
  vit_large_patch16_siglip_256: siglip(16, 1024, 24, 16, 4, 256),
  vit_large_patch16_siglip_384: siglip(16, 1024, 24, 16, 4, 384),
  vit_so400m_patch14_siglip_224: siglip(14, 1152, 27, 16, 3.7362, 224),
  vit_so400m_patch14_siglip_384: siglip(14, 1152, 27, 16, 3.7362, 384),
};

/** `vit_so400m_patch14_siglip_384.webli` -> `vit_so400m_patch14_siglip_384`. */
export function stripPretrainedTag(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? name : name.slice(0, dot);
}
