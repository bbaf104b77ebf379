/**
 * The vision encoder's part kinds, for table-driven loading: "vit" (one ViT tower) and "fused-vit" (towers
 * whose features are concatenated, Cobra's DINOv2 + SigLIP), each behind the image preprocessing it was
 * trained with.
 */
import {
  ConfigError,
  checkPartDtype,
  LINEAR_DTYPES,
  type LinearQuantization,
  linearPartStorage,
  type ModelPart,
  type PartDescription,
  type PartLoader,
  parseConfig,
  partGraph,
} from "@cobra-ts/core";
import { z } from "zod";
import { RESIZE_STRATEGIES, type ResizeStrategy } from "../preprocess/strategies.js";
import type { VitConfig } from "../vit/config.js";
import { FusedEncoder } from "./fused.js";
import { ImageEncoder } from "./image-encoder.js";
import { VitEncoder } from "./vit-encoder.js";

const PACKAGE = "@cobra-ts/vision-encoder";

const positive = z.number().int().positive();
const triple = z.tuple([z.number(), z.number(), z.number()]);

/** A resolved ViT config (resolveVitConfig's output), as a manifest stores it. */
const vitConfigSchema: z.ZodType<VitConfig> = z.object({
  architecture: z.string(),
  patchSize: positive,
  embedDim: positive,
  depth: positive,
  numHeads: positive,
  headDim: positive,
  mlpHidden: positive,
  qkvBias: z.boolean(),
  layerScale: z.boolean(),
  classToken: z.boolean(),
  regTokens: z.number().int().nonnegative(),
  numPrefixTokens: z.number().int().nonnegative(),
  noEmbedClass: z.boolean(),
  globalPool: z.enum(["", "avg", "token", "map"]),
  layerNormEps: z.number().positive(),
  pretrainedImageSize: positive,
  imageSize: positive,
  gridSize: positive,
  numPatches: positive,
  featureBlock: z.number().int().nonnegative(),
  data: z.object({ mean: triple, std: triple, interpolation: z.enum(["bicubic", "bilinear"]) }),
});

/** One tower: its name (the pixels input it takes), its graph file and the ViT config it was built from. */
export interface VitTowerConfig {
  name: string;
  graph: string;
  vit: VitConfig;
}

/** The config of a "vit" / "fused-vit" part. */
export interface VitEncoderPartConfig {
  /** Cobra's image_resize_strategy. */
  strategy: ResizeStrategy;
  /** Square side every tower takes. */
  imageSize: number;
  /** In the order their features are concatenated. */
  towers: VitTowerConfig[];
}

const partConfigSchema: z.ZodType<VitEncoderPartConfig> = z.object({
  strategy: z.enum(RESIZE_STRATEGIES),
  imageSize: positive,
  towers: z
    .array(z.object({ name: z.string().min(1), graph: z.string().min(1), vit: vitConfigSchema }))
    .min(1),
});

/** The part a conversion writes for `towers` (one tower: "vit"; more: "fused-vit"). */
export function vitEncoderPart(
  config: VitEncoderPartConfig,
  files: string[],
  storage: LinearQuantization | null = null,
): PartDescription<VitEncoderPartConfig> {
  return {
    kind: config.towers.length === 1 ? "vit" : "fused-vit",
    files,
    config,
    ...linearPartStorage(storage),
  };
}

/** The checked config of a "vit" / "fused-vit" manifest part (`where` names it in errors). */
export function readVitEncoderPartConfig(part: ModelPart, where: string): VitEncoderPartConfig {
  if (part.kind !== "vit" && part.kind !== "fused-vit")
    throw new ConfigError(`${where}.kind: "${part.kind}" is not a ViT encoder ("vit" or "fused-vit")`);
  return readConfig(part, where, part.kind === "fused-vit");
}

function readConfig(part: ModelPart, where: string, fused: boolean): VitEncoderPartConfig {
  checkPartDtype(part, LINEAR_DTYPES, where);
  const config = parseConfig(partConfigSchema, part.config, `${where}.config`);
  if (!fused && config.towers.length !== 1)
    throw new ConfigError(
      `${where}.config.towers: a "vit" part has one tower, this one lists ${config.towers.length} (use "fused-vit")`,
    );
  for (const [i, t] of config.towers.entries()) {
    if (t.vit.imageSize !== config.imageSize)
      throw new ConfigError(
        `${where}.config.towers[${i}].vit.imageSize: ${t.vit.imageSize}, the part's imageSize is ${config.imageSize}`,
      );
    if (t.vit.numPatches !== config.towers[0].vit.numPatches)
      throw new ConfigError(
        `${where}.config.towers[${i}].vit.numPatches: ${t.vit.numPatches} patches, tower 0 yields ${config.towers[0].vit.numPatches}: fused features need one grid`,
      );
  }
  return config;
}

function vitLoader(kind: "vit" | "fused-vit"): PartLoader<"encoder"> {
  const fused = kind === "fused-vit";
  return {
    kind,
    slot: "encoder",
    packageName: PACKAGE,
    check: (part, where) => void readConfig(part, where, fused),
    async load(part, context) {
      const config = readConfig(part, context.where, fused);
      const towers: VitEncoder[] = [];
      try {
        for (const t of config.towers) {
          const { model, externalData } = await partGraph(part, t.graph, context);
          towers.push(await VitEncoder.create(model, t.vit, t.name, { ...context.runtime, externalData }));
        }
      } catch (e) {
        await Promise.all(towers.map((t) => t.release()));
        throw e;
      }
      return new ImageEncoder(fused ? new FusedEncoder(towers) : towers[0], {
        strategy: config.strategy,
        imageSize: config.imageSize,
      });
    },
  };
}

/** The loaders of this package's part kinds: register them with the composer. */
export const visionEncoderLoaders: readonly PartLoader<"encoder">[] = [
  vitLoader("vit"),
  vitLoader("fused-vit"),
];
