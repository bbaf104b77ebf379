import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelFormatError } from "@cobra-ts/core";
import { type MambaConfig, readMambaLmPartConfig } from "@cobra-ts/mamba-lm";
import { MANIFEST_FILE, manifestFiles, recordedDtypes } from "../manifest.js";
import { readManifest } from "../runtime/load-node.js";
import { SYNTH_MARKER_FILE } from "../synth/out-policy.js";

/** What the bench needs to know about a model folder before loading it. */
export interface BenchModelInfo {
  dir: string;
  /** "cobra": a whole Cobra folder; "lm": a Mamba LM folder without the vision part (`cobra synth --preset mamba-*`). */
  kind: "cobra" | "lm";
  lmConfig: MambaConfig;
  /** Bytes of the LM's weights: what every decoded token reads once (the tied head reads the whole embedding). */
  lmWeightBytes: number;
  /** Bytes of every weight the bench loads (vision, projector and LM for a whole Cobra). */
  modelWeightBytes: number;
  /** The synth preset the folder was written from, if it is synthetic. */
  synthPreset: string | null;
  /** Each part's storage type as cobra.json records it; null for a part the folder does not have. */
  dtypes: { vision: string | null; projector: string | null; lm: string | null };
}

const isWeights = (path: string) => /\.data(\.\d+)?$/.test(path);
const bytesOf = (files: { path: string; size: number }[]) =>
  files.filter((f) => isWeights(f.path)).reduce((n, f) => n + f.size, 0);

/** Reads a model folder's cobra.json: a whole Cobra, or a language model only. */
export async function inspectModelFolder(dir: string): Promise<BenchModelInfo> {
  if (!(await stat(dir).catch(() => null))) throw new ModelFormatError(`${dir}: no such model folder`);
  const manifest = await readManifest(dir);
  const lm = manifest.parts.lm;
  if (lm?.kind !== "mamba-lm")
    throw new ModelFormatError(
      `${join(dir, MANIFEST_FILE)} has no mamba-lm part: not a model folder written by \`cobra convert\` or \`cobra synth\``,
    );
  const lmConfig = readMambaLmPartConfig(lm, `${join(dir, MANIFEST_FILE)} parts.lm`).model;
  const marker = join(dir, SYNTH_MARKER_FILE);
  const synthPreset = (await stat(marker).catch(() => null))
    ? ((JSON.parse(await readFile(marker, "utf8")).preset as string | undefined) ?? null)
    : null;
  return {
    dir,
    kind: manifest.parts.encoder ? "cobra" : "lm",
    lmConfig,
    lmWeightBytes: bytesOf(lm.files),
    modelWeightBytes: bytesOf(manifestFiles(manifest)),
    synthPreset,
    dtypes: recordedDtypes(manifest),
  };
}
