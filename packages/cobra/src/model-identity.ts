import { createHash } from "node:crypto";
import { canonicalJson } from "./jsonl/canonical-json.js";
import { type CobraManifest, MANIFEST_FILE, parseManifest } from "./manifest.js";
import { nodeReader } from "./runtime/node-reader.js";

/** Which model a run answers with, read from cobra.json without loading the model. */
export interface ModelIdentity {
  modelId: string;
  /**
   * sha256 of cobra.json without its `source` section (keys sorted, spacing ignored): every part's kind, dtype,
   * config and file sha256s, and the composer's settings. A folder copied or moved keeps it (the source
   * fingerprint records where and when the weights were read); another dtype, config or file is another model.
   */
  digest: string;
}

/** A missing or foreign folder is refused with the loader's own message. */
export async function modelIdentity(dir: string): Promise<ModelIdentity> {
  return (await readModelFolder(dir)).identity;
}

/** cobra.json read once: the checked manifest and the identity it gives, for callers that need both. */
export async function readModelFolder(
  dir: string,
): Promise<{ manifest: CobraManifest; identity: ModelIdentity }> {
  const text = new TextDecoder().decode(await nodeReader(dir).bytes(MANIFEST_FILE));
  const manifest = parseManifest(text, `${dir}/${MANIFEST_FILE}`, dir);
  // the file as written, not the parsed manifest: a field this version does not know still tells two models apart
  const { source: _, ...identifying } = JSON.parse(text) as Record<string, unknown>;
  const identity = {
    modelId: manifest.modelId,
    digest: createHash("sha256").update(canonicalJson(identifying)).digest("hex"),
  };
  return { manifest, identity };
}

/** "cobra+3b 3f2a9c01d4e5" for messages. */
export const describeModel = (m: ModelIdentity) => `${m.modelId} ${m.digest.slice(0, 12)}`;
