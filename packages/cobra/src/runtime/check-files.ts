/**
 * The one check of a model folder's files against cobra.json, through a file reader: used by the loader
 * before any graph is opened, by `cobra verify` and by `cobra bench --verify`.
 */
import { type ModelFile, type ModelFileReader, ModelFormatError, throwIfAborted } from "@cobra-ts/core";

export interface FileCheck {
  path: string;
  /** What is wrong with the file, or null when it is what cobra.json lists. */
  problem: string | null;
}

export interface HashProgress {
  file: string;
  /** Bytes hashed so far, over all files. */
  done: number;
  total: number;
}

export interface CheckFilesOptions {
  /** Also compare every file's sha256 (reads every byte: slow for big models). */
  sha256?: boolean;
  onProgress?: (p: HashProgress) => void;
  signal?: AbortSignal;
}

/** What is wrong with a listed file that has `size` bytes (null: absent), or null when it has the listed size. */
function sizeProblem(f: ModelFile, size: number | null): string | null {
  if (size === null) return `${f.path} is missing`;
  if (size !== f.size)
    return `${f.path} has ${size} bytes, cobra.json lists ${f.size}: it is truncated or replaced`;
  return null;
}

/** What is wrong with a listed file whose bytes hash to `sha256`, or null when that is the listed hash. */
function hashProblem(f: ModelFile, sha256: string): string | null {
  if (sha256 === f.sha256) return null;
  return `${f.path} has sha256 ${sha256}, cobra.json lists ${f.sha256}: it was modified or corrupted`;
}

/**
 * Checks each of `files`: present, of its listed size and (with `sha256`) of its listed hash. Checks them all
 * rather than stopping at the first bad one, so a report can name each, in the order given.
 */
export async function checkModelFiles(
  reader: ModelFileReader,
  files: readonly ModelFile[],
  options: CheckFilesOptions = {},
): Promise<FileCheck[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  let hashed = 0;
  const checks: FileCheck[] = [];
  for (const f of files) {
    throwIfAborted(options.signal);
    let problem = sizeProblem(f, await reader.size(f.path));
    if (!problem && options.sha256) {
      const start = hashed;
      problem = await reader
        .sha256(f.path, (bytes) => options.onProgress?.({ file: f.path, done: start + bytes, total }))
        .then(
          (sha256) => hashProblem(f, sha256),
          (e: Error & { code?: string }) => `${f.path} cannot be read (${e.code ?? e.message})`,
        );
    }
    hashed += f.size;
    checks.push({ path: f.path, problem });
  }
  return checks;
}

/** Throws one ModelFormatError naming every bad file of `checks` (`where`: the manifest, for the message). */
export function throwIfBadFiles(where: string, checks: readonly FileCheck[]): void {
  const problems = checks.flatMap((c) => (c.problem ? [c.problem] : []));
  if (problems.length)
    throw new ModelFormatError(`${where}: ${problems.join("; ")}; convert the model again`);
}
