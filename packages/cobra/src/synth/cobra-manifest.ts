import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeFiles } from "../convert/hash.js";
import { buildManifest, type CobraManifest, MANIFEST_FILE, type ManifestDescription } from "../manifest.js";

/**
 * Writes `cobra.json` for a folder written by synthesizeModel, with the helpers convertRelease uses (sizes and
 * sha256 from describeFiles, the current FORMAT_VERSION), so Cobra.load checks it exactly like a conversion.
 */
export async function writeSynthManifest(
  dir: string,
  description: ManifestDescription,
): Promise<CobraManifest> {
  const manifest = await buildManifest(description, (paths) => describeFiles(dir, paths));
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
