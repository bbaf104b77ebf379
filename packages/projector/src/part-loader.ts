/**
 * The projector's part kinds, for table-driven loading: one kind per projector class ("linear", "gelu-mlp",
 * "fused-gelu-mlp", "fused-ldpnet", "ldpnet"), each an ONNX graph run by OnnxProjector.
 */
import {
  ConfigError,
  checkPartDtype,
  LINEAR_DTYPES,
  type LinearQuantization,
  linearPartStorage,
  ModelFormatError,
  type ModelPart,
  type PartDescription,
  type PartLoader,
  parseConfig,
  partGraph,
} from "@cobra-ts/core";
import { z } from "zod";
import { OnnxProjector } from "./onnx-projector.js";
import { isProjectorVariant, PROJECTOR_VARIANTS, type ProjectorVariant } from "./variants.js";

const PACKAGE = "@cobra-ts/projector";

/** The config of a projector part: its graph and the sizes it maps between. */
export interface ProjectorPartConfig {
  graph: string;
  /** The arch_specifier the projector was chosen by, e.g. "no-align+fused-gelu-mlp". */
  archSpecifier: string;
  /** Features per patch in. */
  inputDim: number;
  /** LM rows out: [numTokens, outputDim] per image. */
  outputDim: number;
  numTokens: number;
}

const positive = z.number().int().positive();
const configSchema: z.ZodType<ProjectorPartConfig> = z.object({
  graph: z.string().min(1),
  archSpecifier: z.string(),
  inputDim: positive,
  outputDim: positive,
  numTokens: positive,
});

/** The part a conversion writes for a projector graph (`files`: the graph first, then its data files). */
export function projectorPart(
  variant: ProjectorVariant,
  config: ProjectorPartConfig,
  files: string[],
  storage: LinearQuantization | null = null,
): PartDescription<ProjectorPartConfig> {
  return { kind: variant, files, config, ...linearPartStorage(storage) };
}

/** The variant and checked config of a projector manifest part (`where` names it in errors). */
export function readProjectorPart(
  part: ModelPart,
  where: string,
): { variant: ProjectorVariant; config: ProjectorPartConfig } {
  if (!isProjectorVariant(part.kind))
    throw new ConfigError(
      `${where}.kind: "${part.kind}" is not a projector (${PROJECTOR_VARIANTS.join(", ")})`,
    );
  return { variant: part.kind, config: readConfig(part, where) };
}

function readConfig(part: ModelPart, where: string): ProjectorPartConfig {
  checkPartDtype(part, LINEAR_DTYPES, where);
  return parseConfig(configSchema, part.config, `${where}.config`);
}

function projectorLoader(kind: ProjectorVariant): PartLoader<"projector"> {
  return {
    kind,
    slot: "projector",
    packageName: PACKAGE,
    check: (part, where) => void readConfig(part, where),
    async load(part, context) {
      const config = readConfig(part, context.where);
      const { model, externalData } = await partGraph(part, config.graph, context);
      const projector = await OnnxProjector.load(model, { ...context.runtime, externalData });
      if (projector.visionDim !== config.inputDim || projector.llmDim !== config.outputDim) {
        await projector.release();
        throw new ModelFormatError(
          `${context.where}: the graph ${config.graph} maps ${projector.visionDim} -> ${projector.llmDim}, ` +
            `the config says ${config.inputDim} -> ${config.outputDim}: convert the model again`,
        );
      }
      return projector;
    },
  };
}

/** The loaders of this package's part kinds: register them with the composer. */
export const projectorLoaders: readonly PartLoader<"projector">[] = PROJECTOR_VARIANTS.map(projectorLoader);
