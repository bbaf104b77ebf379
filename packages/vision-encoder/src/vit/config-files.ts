// Reading the config files releases ship: timm hub `config.json` and open_clip `open_clip_config.json`.
import { ConfigError } from "@cobra-ts/core";
import { resolveVitConfig, squareSize, type VitBuildOptions, type VitConfig } from "./config.js";
import type { TimmDataConfig } from "./timm-architectures.js";

function record(where: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigError(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function rgbTriple(where: string, value: unknown): readonly [number, number, number] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === "number" && Number.isFinite(v))
  )
    throw new ConfigError(`${where} must be three numbers, got ${JSON.stringify(value)}`);
  return value as unknown as readonly [number, number, number];
}

function interpolation(where: string, value: unknown): TimmDataConfig["interpolation"] | undefined {
  if (value === undefined) return undefined;
  if (value !== "bicubic" && value !== "bilinear")
    throw new ConfigError(`${where} "${String(value)}" is not supported (bicubic, bilinear)`);
  return value;
}

/** From a timm hub `config.json` (`architecture`, optional `model_args`, `pretrained_cfg`). */
export function vitConfigFromTimmConfig(json: unknown, options: VitBuildOptions = {}): VitConfig {
  const cfg = record("timm config.json", json);
  const architecture = cfg.architecture;
  if (typeof architecture !== "string")
    throw new ConfigError('timm config.json has no "architecture" string');
  const modelArgs =
    cfg.model_args === undefined ? undefined : record("timm config.json model_args", cfg.model_args);
  const pre =
    cfg.pretrained_cfg === undefined ? {} : record("timm config.json pretrained_cfg", cfg.pretrained_cfg);
  const inputSize = pre.input_size;
  let pretrainedImageSize: number | undefined;
  if (inputSize !== undefined) {
    if (!Array.isArray(inputSize) || inputSize.length !== 3)
      throw new ConfigError("timm config.json pretrained_cfg.input_size must be [C, H, W]");
    pretrainedImageSize = squareSize("timm config.json pretrained_cfg.input_size[1:]", inputSize.slice(1));
  }
  const config = resolveVitConfig(architecture, modelArgs, {
    ...options,
    pretrainedImageSize: typeof modelArgs?.img_size === "number" ? modelArgs.img_size : pretrainedImageSize,
    data: {
      mean: rgbTriple("timm config.json pretrained_cfg.mean", pre.mean),
      std: rgbTriple("timm config.json pretrained_cfg.std", pre.std),
      interpolation: interpolation("timm config.json pretrained_cfg.interpolation", pre.interpolation),
    },
  });
  if (cfg.num_features !== undefined && cfg.num_features !== config.embedDim)
    throw new ConfigError(
      `timm config.json: num_features ${String(cfg.num_features)} contradicts embed_dim ${config.embedDim}`,
    );
  return config;
}

/**
 * From an open_clip `open_clip_config.json` whose vision tower is a timm model
 * (`model_cfg.vision_cfg.timm_model_name`). `timm_model_args`, when present, overrides the registered
 * arguments (an extension used by small test fixtures; real open_clip configs have no such key).
 */
export function vitConfigFromOpenClipConfig(json: unknown, options: VitBuildOptions = {}): VitConfig {
  const cfg = record("open_clip config", json);
  const vision = record(
    "open_clip config model_cfg.vision_cfg",
    record("open_clip config model_cfg", cfg.model_cfg).vision_cfg,
  );
  const name = vision.timm_model_name;
  if (typeof name !== "string")
    throw new ConfigError(
      "open_clip config has no model_cfg.vision_cfg.timm_model_name: only timm vision towers are supported",
    );
  const modelArgs =
    vision.timm_model_args === undefined
      ? undefined
      : record("open_clip config timm_model_args", vision.timm_model_args);
  const pre =
    cfg.preprocess_cfg === undefined ? {} : record("open_clip config preprocess_cfg", cfg.preprocess_cfg);
  const imageSize = vision.image_size;
  return resolveVitConfig(name, modelArgs, {
    ...options,
    pretrainedImageSize: typeof imageSize === "number" ? imageSize : undefined,
    data: {
      mean: rgbTriple("open_clip config preprocess_cfg.mean", pre.mean),
      std: rgbTriple("open_clip config preprocess_cfg.std", pre.std),
      interpolation: interpolation("open_clip config preprocess_cfg.interpolation", pre.interpolation),
    },
  });
}
