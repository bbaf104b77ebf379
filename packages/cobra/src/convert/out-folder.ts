import { readdir, realpath, stat, statfs } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { MANIFEST_FILE } from "../manifest.js";

/** What an --out path holds now: the commands decide from this what they may replace. */
export type OutFolderState =
  | { kind: "absent" }
  | { kind: "empty" }
  | { kind: "folder"; names: string[] }
  /** A regular file (or anything not a folder): never turned into a folder. */
  | { kind: "file" };

/**
 * Reads what `out` holds, refusing outright the paths no command may replace: the current folder or one that
 * contains it (renaming it away would pull the working folder from under the user's shell).
 */
export async function inspectOutFolder(out: string): Promise<OutFolderState> {
  const real = await realpath(out).catch(() => resolve(out));
  const rel = relative(real, process.cwd());
  if (rel !== ".." && !rel.startsWith(`..${sep}`))
    throw new InvalidArgumentError(
      `--out ${out} is the current folder or contains it; name a new folder for the output`,
    );
  const info = await stat(out).catch(() => null);
  if (!info) return { kind: "absent" };
  if (!info.isDirectory()) return { kind: "file" };
  const names = (await readdir(out)).sort();
  return names.length === 0 ? { kind: "empty" } : { kind: "folder", names };
}

/** A short list of a folder's entries for an error message. */
export function someNames(names: string[]): string {
  return `${names.slice(0, 3).join(", ")}${names.length > 3 ? `, ... (${names.length} entries)` : ""}`;
}

/** The refusal for an --out that is a file. */
export function outIsFileError(out: string): InvalidArgumentError {
  return new InvalidArgumentError(`--out ${out} is a file, not a folder; name a folder for the output`);
}

/** Fails early when the disk beside `out` cannot take `bytes` (a 14 GB write should not die at 90%). */
export async function checkFreeSpace(out: string, bytes: number): Promise<void> {
  let dir = dirname(out);
  while (!(await stat(dir).catch(() => null))) dir = dirname(dir);
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const needed = bytes * 1.02 + 64 * 2 ** 20;
  if (free < needed)
    throw new InvalidArgumentError(
      `${join(dir)} has ${(free / 1e9).toFixed(1)} GB free; this model needs about ${(needed / 1e9).toFixed(1)} GB`,
    );
}

/**
 * Conversion replaces only a folder that is itself a conversion (it holds cobra.json), or an empty one; any
 * other folder is the user's and needs --force; a file is never replaced.
 */
export async function checkConvertOut(out: string, force: boolean): Promise<void> {
  const state = await inspectOutFolder(out);
  if (state.kind === "file") throw outIsFileError(out);
  if (state.kind !== "folder" || state.names.includes(MANIFEST_FILE) || force) return;
  throw new InvalidArgumentError(
    `--out ${out} exists and is not a converted model (it holds ${someNames(state.names)}); ` +
      "choose a new or empty folder, or pass --force to delete what it holds and write the model there",
  );
}
