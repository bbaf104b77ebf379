/**
 * `cobra.json`, the manifest of a model folder: the composer's settings and each part as
 * `{ kind, files, config, dtype, quantization?, backend? }`. The parts' configs belong to their loaders
 * (registered by the packages that implement the kinds); this module checks everything else.
 */
import {
  type ModelFile,
  ModelFormatError,
  type ModelPart,
  modelPartSchema,
  PART_SLOTS,
  type PartDescription,
  type PartDtype,
  type PartSlot,
  parseConfig,
} from "@cobra-ts/core";
import { z } from "zod";
import type { PartName } from "./convert/part-dtypes.js";

/** Bumped whenever a folder written by an older version can no longer be loaded as is. 3: parts by kind. */
export const FORMAT_VERSION = 3;
export const MANIFEST_FILE = "cobra.json";

/** One file of a model folder (size and sha256 as written). */
export type ManifestFile = ModelFile;

export interface ManifestSettings {
  /** Chooses Cobra's prompt builder (createPromptBuilder). */
  llmBackboneId: string;
  /** Longest prompt in tokens (Cobra's llm_max_length). */
  maxPromptLength: number;
}

/** The `cobra.json` of a model folder. */
export interface CobraManifest {
  format: "cobra-ts";
  formatVersion: number;
  modelId: string;
  /** The composer's settings; absent from a language-model-only folder. */
  settings?: ManifestSettings;
  /** By slot; a language-model-only folder (`cobra synth --preset mamba-*`) has lm and tokenizer only. */
  parts: Partial<Record<PartSlot, ModelPart>>;
  /** Where the weights came from: a conversion's fingerprint, or the synthetic preset and seed. */
  source: Record<string, string>;
}

const manifestSchema = z.object({
  format: z.literal("cobra-ts"),
  formatVersion: z.literal(FORMAT_VERSION),
  modelId: z.string(),
  settings: z
    .object({ llmBackboneId: z.string().min(1), maxPromptLength: z.number().int().positive() })
    .optional(),
  parts: z.strictObject({
    encoder: modelPartSchema.optional(),
    projector: modelPartSchema.optional(),
    lm: modelPartSchema.optional(),
    tokenizer: modelPartSchema.optional(),
  }),
  source: z.record(z.string(), z.string()),
});

/** The files of `parts`, each once, in order. */
export function uniqueFiles(parts: readonly ModelPart[]): ModelFile[] {
  const seen = new Map<string, ModelFile>();
  for (const part of parts) for (const f of part.files) if (!seen.has(f.path)) seen.set(f.path, f);
  return [...seen.values()];
}

/** Every file the manifest lists, each once, in part order. */
export function manifestFiles(manifest: Pick<CobraManifest, "parts">): ModelFile[] {
  return uniqueFiles(PART_SLOTS.flatMap((slot) => manifest.parts[slot] ?? []));
}

/** The manifest slot each part is stored in, by the part names `--dtype` uses. */
export const SLOT_OF: Readonly<Record<PartName, PartSlot>> = {
  vision: "encoder",
  projector: "projector",
  lm: "lm",
};

/** Each part's dtype as cobra.json records it; null for a part the folder does not have or that records none. */
export function recordedDtypes(manifest: Pick<CobraManifest, "parts">): Record<PartName, PartDtype | null> {
  const of = (part: PartName) => manifest.parts[SLOT_OF[part]]?.dtype ?? null;
  return { vision: of("vision"), projector: of("projector"), lm: of("lm") };
}

/** The command that writes a folder of this format again from what an older manifest says it came from. */
function convertAgainCommand(old: { modelId?: unknown; source?: unknown }, dir: string): string {
  const source = (old.source ?? {}) as Record<string, unknown>;
  if (typeof source.synthetic === "string")
    return `npx cobra synth --preset ${source.synthetic}${typeof source.seed === "string" ? ` --seed ${source.seed}` : ""} --out ${dir}`;
  if (old.modelId === "cobra+3b") return `npx cobra convert --release cobra+3b --out ${dir}`;
  return `npx cobra convert --checkpoint <run folder> --dino <folder> --siglip <folder> --llm <folder> --out ${dir}`;
}

/**
 * Parses and checks a manifest: format, version (an older folder is refused with the command that converts it
 * again), settings, and every part's shape and file list. The parts' configs are checked by their loaders.
 * `dir` is the folder as the user named it, for the command in the message.
 */
export function parseManifest(text: string, where: string, dir = "<folder>"): CobraManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${where} is not valid JSON`, { cause: e });
  }
  const head = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (head.format !== "cobra-ts")
    throw new ModelFormatError(`${where} is not a cobra-ts manifest (format "${String(head.format)}")`);
  const version = head.formatVersion;
  if (typeof version === "number" && version < FORMAT_VERSION)
    throw new ModelFormatError(
      `${where} is format ${version}, written by an older cobra-ts; this version reads format ${FORMAT_VERSION}. ` +
        `Write the folder again: ${convertAgainCommand(head, dir)}`,
    );
  if (version !== FORMAT_VERSION)
    throw new ModelFormatError(
      `${where} is format ${String(version)}, this cobra-ts reads format ${FORMAT_VERSION}: update cobra-ts, or convert the model with this version`,
    );
  const manifest = parseConfig(manifestSchema, json, where, ModelFormatError);
  for (const slot of PART_SLOTS) {
    const paths = new Set<string>();
    for (const f of manifest.parts[slot]?.files ?? []) {
      if (f.path.startsWith("/") || f.path.split(/[\\/]/).includes(".."))
        throw new ModelFormatError(`${where} parts.${slot}: file path "${f.path}" leaves the model folder`);
      if (paths.has(f.path)) throw new ModelFormatError(`${where} parts.${slot}: lists ${f.path} twice`);
      paths.add(f.path);
    }
  }
  return manifest;
}

/** A manifest's content before its files are hashed: what convert and synth describe. */
export interface ManifestDescription extends Omit<CobraManifest, "format" | "formatVersion" | "parts"> {
  parts: Partial<Record<PartSlot, PartDescription>>;
}

/** Builds the manifest from a description, hashing each part's files with `describe` (size and sha256). */
export async function buildManifest(
  description: ManifestDescription,
  describe: (paths: string[]) => Promise<ModelFile[]>,
): Promise<CobraManifest> {
  const parts: Partial<Record<PartSlot, ModelPart>> = {};
  for (const slot of PART_SLOTS) {
    const part = description.parts[slot];
    if (part) parts[slot] = { ...part, files: await describe(part.files) };
  }
  return { format: "cobra-ts", formatVersion: FORMAT_VERSION, ...description, parts };
}
