import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeFiles } from "../convert/hash.js";
import { type CobraManifest, FORMAT_VERSION, MANIFEST_FILE } from "../manifest.js";

/** What a synthetic Cobra folder holds besides its file list: the parts convertRelease would record. */
export type SynthManifestParts = Pick<
  CobraManifest,
  "modelId" | "vision" | "projector" | "lm" | "llmBackboneId"
> & {
  source: Record<string, string>;
};

/**
 * Writes `cobra.json` for a folder written by synthesizeModel, with the helpers convertRelease uses (sizes and
 * sha256 from describeFiles, the current FORMAT_VERSION), so Cobra.load checks it exactly like a conversion.
 */
export async function writeSynthManifest(
  dir: string,
  parts: SynthManifestParts,
  files: string[],
): Promise<CobraManifest> {
  const manifest: CobraManifest = {
    format: "cobra-ts",
    formatVersion: FORMAT_VERSION,
    ...parts,
    dtype: "fp32",
    files: await describeFiles(dir, files),
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
