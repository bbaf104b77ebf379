import { stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelFormatError } from "@cobra-ts/core";
import { sha256File } from "../convert/hash.js";
import { type CobraManifest, MANIFEST_FILE, manifestFiles } from "../manifest.js";
import { hashProblem, sizeProblem } from "./verify-files.js";

export interface FileCheck {
  path: string;
  /** What is wrong with the file, or null when its size and sha256 are those cobra.json lists. */
  problem: string | null;
}

export interface VerifyProgress {
  file: string;
  /** Bytes hashed so far, over all files. */
  done: number;
  total: number;
}

/**
 * Checks every file cobra.json lists: present, of its size, of its sha256. Reads every byte (slow for big
 * models), and checks them all rather than stopping at the first bad one, so a report can name each.
 */
export async function verifyModelFiles(
  dir: string,
  manifest: CobraManifest,
  onProgress?: (p: VerifyProgress) => void,
): Promise<FileCheck[]> {
  const files = manifestFiles(manifest);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let hashed = 0;
  const checks: FileCheck[] = [];
  for (const f of files) {
    const path = join(dir, f.path);
    const size = (await stat(path).catch(() => null))?.size ?? null;
    let problem = sizeProblem(f, size);
    if (!problem) {
      const start = hashed;
      problem = await sha256File(path, (bytes) =>
        onProgress?.({ file: f.path, done: start + bytes, total }),
      ).then(
        (sha256) => hashProblem(f, sha256),
        (e: NodeJS.ErrnoException) => `${f.path} cannot be read (${e.code ?? e.message})`,
      );
    }
    hashed += f.size;
    checks.push({ path: f.path, problem });
  }
  return checks;
}

/** Throws one ModelFormatError naming every file that is not what cobra.json lists. */
export async function assertModelFiles(dir: string, manifest: CobraManifest): Promise<void> {
  const bad = (await verifyModelFiles(dir, manifest)).filter((c) => c.problem);
  if (bad.length)
    throw new ModelFormatError(
      `${join(dir, MANIFEST_FILE)}: ${bad.map((c) => c.problem).join("; ")}; convert the model again`,
    );
}
