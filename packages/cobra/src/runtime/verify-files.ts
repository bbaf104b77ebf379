import { ModelFormatError } from "@cobra-ts/core";
import type { ManifestFile } from "../manifest.js";

/** What is wrong with a listed file that has `size` bytes (null: absent), or null when it has the listed size. */
export function sizeProblem(f: ManifestFile, size: number | null): string | null {
  if (size === null) return `${f.path} is missing`;
  if (size !== f.size)
    return `${f.path} has ${size} bytes, cobra.json lists ${f.size}: it is truncated or replaced`;
  return null;
}

/** What is wrong with a listed file whose bytes hash to `sha256`, or null when that is the listed hash. */
export function hashProblem(f: ManifestFile, sha256: string): string | null {
  if (sha256 === f.sha256) return null;
  return `${f.path} has sha256 ${sha256}, cobra.json lists ${f.sha256}: it was modified or corrupted`;
}

/** Checks every file the manifest lists against what `statSize` finds: a missing or resized file is caught before onnxruntime sees it. */
export async function checkFileSizes(
  files: readonly ManifestFile[],
  statSize: (path: string) => Promise<number | null>,
  where: string,
): Promise<void> {
  for (const f of files) {
    const problem = sizeProblem(f, await statSize(f.path));
    if (problem) throw new ModelFormatError(`${where}: ${problem}; convert the model again`);
  }
}
