import { ModelFormatError } from "@cobra-ts/core";

/** Bumped whenever a converted folder written by an older version can no longer be loaded as is. */
export const FORMAT_VERSION = 2;
export const MANIFEST_FILE = "cobra.json";

export interface ManifestFile {
  /** Path relative to the model folder. */
  path: string;
  size: number;
  sha256: string;
}

/** The `cobra.json` of a converted model folder. */
export interface CobraManifest {
  format: "cobra-ts";
  formatVersion: number;
  modelId: string;
  /** Component configs, as the packages that load them define them. */
  vision: {
    strategy: "resize-naive" | "letterbox" | "resize-crop";
    imageSize: number;
    /** In the order their features are concatenated; `config` is the ViT config the graph was built from. */
    encoders: { name: string; graph: string; featureDim: number; config: Record<string, unknown> }[];
    numPatches: number;
  };
  projector: { arch: string; graph: string; inputDim: number; outputDim: number; numTokens: number };
  lm: {
    graph: string;
    config: Record<string, unknown>;
    tokenizer: string;
    tokenizerConfig: string | null;
    maxLength: number;
  };
  /** Chooses the prompt builder, as Cobra does (`createPromptBuilder`). */
  llmBackboneId: string;
  dtype: "fp32";
  source: Record<string, string>;
  files: ManifestFile[];
}

/** Checks the parts of a manifest every loader relies on; throws ModelFormatError saying what is wrong. */
export function parseManifest(text: string, where: string): CobraManifest {
  let m: Partial<CobraManifest>;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${where} is not valid JSON`, { cause: e });
  }
  if (m.format !== "cobra-ts")
    throw new ModelFormatError(`${where} is not a cobra-ts manifest (format "${String(m.format)}")`);
  if (m.formatVersion !== FORMAT_VERSION)
    throw new ModelFormatError(
      `${where} has format version ${String(m.formatVersion)}, this cobra-ts reads version ${FORMAT_VERSION}: convert the model again with this version`,
    );
  for (const key of ["vision", "projector", "lm", "files"] as const)
    if (!m[key]) throw new ModelFormatError(`${where} has no "${key}" section`);
  return m as CobraManifest;
}
