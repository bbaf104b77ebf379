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
