import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelFormatError } from "@cobra-ts/core";
import { type LanguageModelDescriptor, LM_CONFIG_FILE, type MambaConfig } from "@cobra-ts/mamba-lm";
import { MANIFEST_FILE } from "../manifest.js";
import { readManifest } from "../runtime/load-node.js";
import { SYNTH_MARKER_FILE } from "../synth/out-policy.js";

/** What the bench needs to know about a model folder before loading it. */
export interface BenchModelInfo {
  dir: string;
  /** "cobra": a whole Cobra folder (cobra.json); "lm": a Mamba LM folder (lm.json) without the vision part. */
  kind: "cobra" | "lm";
  lmConfig: MambaConfig;
  /** Bytes of the LM's weights: what every decoded token reads once (the tied head reads the whole embedding). */
  lmWeightBytes: number;
  /** Bytes of every weight the bench loads (vision, projector and LM for a whole Cobra). */
  modelWeightBytes: number;
  /** The synth preset the folder was written from, if it is synthetic. */
  synthPreset: string | null;
}

const exists = async (path: string) => (await stat(path).catch(() => null)) !== null;

async function fileBytes(dir: string, files: readonly string[]): Promise<number> {
  let n = 0;
  for (const f of files) n += (await stat(join(dir, f))).size;
  return n;
}

/** Reads a model folder's descriptors: cobra.json for a whole Cobra, else lm.json (e.g. `cobra synth --preset mamba-*`). */
export async function inspectModelFolder(dir: string): Promise<BenchModelInfo> {
  if (!(await exists(dir))) throw new ModelFormatError(`${dir}: no such model folder`);
  const lmPath = join(dir, LM_CONFIG_FILE);
  if (!(await exists(lmPath)))
    throw new ModelFormatError(
      `${dir} holds no ${LM_CONFIG_FILE}: not a model folder written by \`cobra convert\` or \`cobra synth\``,
    );
  let lm: LanguageModelDescriptor;
  try {
    lm = JSON.parse(await readFile(lmPath, "utf8"));
  } catch (e) {
    throw new ModelFormatError(`${lmPath} is not valid JSON`, { cause: e });
  }
  if (lm.format !== "mamba-lm" || !lm.config || !Array.isArray(lm.dataFiles))
    throw new ModelFormatError(`${lmPath} is not a mamba-lm descriptor`);
  const lmWeightBytes = await fileBytes(dir, lm.dataFiles);
  const isCobra = await exists(join(dir, MANIFEST_FILE));
  const modelWeightBytes = isCobra
    ? await fileBytes(
        dir,
        (await readManifest(dir)).files.map((f) => f.path).filter((p) => /\.data(\.\d+)?$/.test(p)),
      )
    : lmWeightBytes;
  const marker = join(dir, SYNTH_MARKER_FILE);
  const synthPreset = (await exists(marker))
    ? ((JSON.parse(await readFile(marker, "utf8")).preset as string | undefined) ?? null)
    : null;
  return {
    dir,
    kind: isCobra ? "cobra" : "lm",
    lmConfig: lm.config,
    lmWeightBytes,
    modelWeightBytes,
    synthPreset,
  };
}
