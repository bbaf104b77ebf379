import { InvalidArgumentError } from "@cobra-ts/core";
import { inspectOutFolder, outIsFileError, someNames } from "../convert/out-folder.js";
import { MANIFEST_FILE } from "../manifest.js";

/** Marks a folder written by synthesizeModel: only such a folder is replaced without --force. */
export const SYNTH_MARKER_FILE = "synth.json";
const MODEL_FILES = [MANIFEST_FILE, "lm.json"];

/**
 * Refuses an --out that would lose someone's files: a file, a folder holding anything but a model, or (without
 * `force`) a converted model. An absent or empty folder, or an earlier synthetic model, is fine.
 */
export async function checkSynthOut(out: string, force: boolean): Promise<void> {
  const state = await inspectOutFolder(out);
  if (state.kind === "file") throw outIsFileError(out);
  if (state.kind !== "folder" || state.names.includes(SYNTH_MARKER_FILE)) return;
  if (!state.names.some((n) => MODEL_FILES.includes(n)))
    throw new InvalidArgumentError(
      `--out ${out} exists and is not a model folder (it holds ${someNames(state.names)}); choose a new or empty folder`,
    );
  if (!force)
    throw new InvalidArgumentError(
      `--out ${out} holds a converted model; pass --force to replace it with random weights`,
    );
}
