import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { MANIFEST_FILE, parseManifest } from "../manifest.js";
import { nodeReader } from "../runtime/node-reader.js";

/** Which model answered: its folder, and the sha256 of its cobra.json (which lists every file's sha256). */
export interface ModelIdentity {
  model: string;
  model_sha256: string;
}

/**
 * The model folder's identity, read without loading the model: the same manifest is the same weights and
 * settings wherever the folder lies; a folder converted again (another dtype, another release) is another model.
 * A missing or foreign folder is refused with the loader's own message.
 */
export async function modelIdentity(dir: string): Promise<ModelIdentity> {
  const reader = nodeReader(dir);
  const bytes = await reader.bytes(MANIFEST_FILE);
  parseManifest(new TextDecoder().decode(bytes), `${dir}/${MANIFEST_FILE}`, dir);
  return { model: resolve(dir), model_sha256: createHash("sha256").update(bytes).digest("hex") };
}
