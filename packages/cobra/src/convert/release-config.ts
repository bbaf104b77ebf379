import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, FileNotFoundError } from "@cobra-ts/core";

/** The `["model"]` part of a Cobra run's config.json: all `cobra.models.load.load()` reads. */
export interface CobraModelConfig {
  modelId: string;
  archSpecifier: string;
  visionBackboneId: string;
  llmBackboneId: string;
  imageResizeStrategy: "resize-naive" | "letterbox" | "resize-crop";
  llmMaxLength: number;
}

const STRATEGIES = ["resize-naive", "letterbox", "resize-crop"] as const;

export async function readCobraConfig(checkpointDir: string): Promise<CobraModelConfig> {
  const path = join(checkpointDir, "config.json");
  let json: { model?: Record<string, unknown> };
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new FileNotFoundError(path, "Cobra run config");
    throw new ConfigError(`${path} is not valid JSON`, { cause: e });
  }
  const m = json.model;
  if (!m || typeof m !== "object") throw new ConfigError(`${path} has no "model" object`);
  const str = (key: string): string => {
    const v = m[key];
    if (typeof v !== "string")
      throw new ConfigError(`${path}: model.${key} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const strategy = str("image_resize_strategy");
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw new ConfigError(
      `${path}: image_resize_strategy "${strategy}" is not one of ${STRATEGIES.join(", ")}`,
    );
  const maxLength = m.llm_max_length ?? 2048;
  if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength <= 0)
    throw new ConfigError(`${path}: model.llm_max_length must be a positive integer`);
  return {
    modelId: str("model_id"),
    archSpecifier: str("arch_specifier"),
    visionBackboneId: str("vision_backbone_id"),
    llmBackboneId: str("llm_backbone_id"),
    imageResizeStrategy: strategy as CobraModelConfig["imageResizeStrategy"],
    llmMaxLength: maxLength,
  };
}

/** Which towers a Cobra vision_backbone_id uses and at what size (cobra/models/backbones/vision/*). */
export function visionBackboneTowers(id: string): { towers: ("dino" | "siglip")[]; imageSize: number } {
  const imageSize = /(\d+)px/.exec(id) ? Number(/(\d+)px/.exec(id)![1]) : 224;
  if (id.startsWith("dinosiglip")) return { towers: ["dino", "siglip"], imageSize };
  if (id.startsWith("siglip")) return { towers: ["siglip"], imageSize };
  if (id.startsWith("dinov2")) return { towers: ["dino"], imageSize };
  throw new ConfigError(`vision_backbone_id "${id}" is not a DINOv2, SigLIP or fused DINO+SigLIP backbone`);
}
