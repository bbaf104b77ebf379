import { createHash } from "node:crypto";
import { manifestFiles } from "../manifest.js";
import { readManifestFrom } from "../runtime/load-parts.js";
import { nodeReader } from "../runtime/node-reader.js";

/** A model folder's identity: what its manifest says each file's sha256 is (read from cobra.json, no hashing). */
export interface ModelIdentity {
  modelId: string;
  /** sha256 over the manifest's `path sha256` lines: equal exactly when every file is. */
  digest: string;
}

export async function modelIdentity(dir: string): Promise<ModelIdentity> {
  const manifest = await readManifestFrom(nodeReader(dir));
  const lines = manifestFiles(manifest)
    .map((f) => `${f.path} ${f.sha256}\n`)
    .sort();
  return { modelId: manifest.modelId, digest: createHash("sha256").update(lines.join("")).digest("hex") };
}

/** "cobra+3b 3f2a9c01d4e5" for messages. */
export const describeModel = (m: ModelIdentity) => `${m.modelId} ${m.digest.slice(0, 12)}`;
