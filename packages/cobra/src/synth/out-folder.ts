import { readdir, stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { MANIFEST_FILE } from "../manifest.js";

/** Marks a folder written by synthesizeModel: only such a folder is replaced without --force. */
export const SYNTH_MARKER_FILE = "synth.json";
const MODEL_FILES = [MANIFEST_FILE, "lm.json"];

/**
 * Refuses an --out that would lose someone's files: a file, a folder holding anything but a model, or (without
 * `force`) a converted model. An absent or empty folder, or an earlier synthetic model, is fine.
 */
export async function checkOutFolder(out: string, force: boolean): Promise<void> {
  const info = await stat(out).catch(() => null);
  if (!info) return;
  if (!info.isDirectory()) throw new InvalidArgumentError(`--out ${out} is a file, not a folder`);
  const names = await readdir(out);
  if (names.length === 0 || names.includes(SYNTH_MARKER_FILE)) return;
  if (!names.some((n) => MODEL_FILES.includes(n)))
    throw new InvalidArgumentError(
      `--out ${out} exists and is not a model folder (it holds ${names.slice(0, 3).join(", ")}${names.length > 3 ? ", ..." : ""}); choose a new or empty folder`,
    );
  if (!force)
    throw new InvalidArgumentError(
      `--out ${out} holds a converted model; pass --force to replace it with random weights`,
    );
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
