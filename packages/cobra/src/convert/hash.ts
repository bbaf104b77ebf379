import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { ManifestFile } from "../manifest.js";

/** sha256 of a file, streamed (model files are gigabytes); `onBytes` hears how many bytes are hashed so far. */
export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return hash.digest("hex");
}

export async function describeFiles(dir: string, paths: string[]): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const path of paths) {
    const full = join(dir, path);
    out.push({ path, size: (await stat(full)).size, sha256: await sha256File(full) });
  }
  return out;
}
