import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  FileNotFoundError,
  InvalidArgumentError,
  type ModelPart,
  type PartSlot,
  throwIfAborted,
} from "@cobra-ts/core/node";
import { lmQuantizationFor, readMambaLmPartConfig, resolveMambaConfig } from "@cobra-ts/mamba-lm";
import { openConvertedLmWeights, writeLanguageModel } from "@cobra-ts/mamba-lm/node";
import { buildManifest, type CobraManifest, MANIFEST_FILE, parseManifest } from "../manifest.js";
import { writeFolderAtomically } from "./atomic-dir.js";
import { describeFiles } from "./hash.js";
import { checkConvertOut } from "./out-folder.js";
import { checkWritableDtypes, type DtypeSpec, type PartName } from "./part-dtypes.js";

export interface QuantizeOptions {
  out: string;
  /** As parsePartDtypes reads `--dtype`: a part it does not name keeps its dtype. */
  dtypes: DtypeSpec;
  force?: boolean;
  onProgress?: (p: { item: string; done: number; total: number }) => void;
  signal?: AbortSignal;
}

const SLOT_OF: Record<PartName, PartSlot> = { vision: "encoder", projector: "projector", lm: "lm" };

/**
 * Writes the converted model in `model` again with the LM at another dtype, without the release files: the
 * LM's fp32 weights are read back from its graph and quantized; every other part is copied as it is. The
 * vision towers and projector keep their dtype (re-quantizing them from their graphs is not built: convert from
 * the release with --dtype for that).
 */
export async function quantizeModel(model: string, options: QuantizeOptions): Promise<CobraManifest> {
  if (resolve(model) === resolve(options.out))
    throw new InvalidArgumentError("--out must be a new folder, not the --model folder itself");
  const manifestPath = join(model, MANIFEST_FILE);
  const text = await readFile(manifestPath, "utf8").catch((e) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new FileNotFoundError(
        manifestPath,
        "model manifest (is --model a folder written by cobra convert or cobra synth?)",
      );
    throw e;
  });
  const manifest = parseManifest(text, manifestPath, model);
  const lmPart = manifest.parts.lm;
  if (!lmPart) throw new InvalidArgumentError(`${model} has no language model part to quantize`);
  const { dtypes, named } = options.dtypes;
  // One name (`--dtype q8`) asks it of every part; `lm=q8` of the LM alone, the others keeping theirs.
  const asked = (name: PartName) => named.length === 0 || named.includes(name);
  for (const name of ["vision", "projector"] as const) {
    const part = manifest.parts[SLOT_OF[name]];
    if (part && asked(name) && part.dtype !== dtypes[name])
      throw new InvalidArgumentError(
        `cobra quantize re-quantizes the LM only; the ${name} is ${part.dtype} here and stays so ` +
          `(pass --dtype lm=${dtypes.lm}, or convert from the release with --dtype ${name}=${dtypes[name]})`,
      );
  }
  checkWritableDtypes(dtypes, ["lm"]);
  if (lmPart.dtype === dtypes.lm)
    throw new InvalidArgumentError(`the LM in ${model} is already ${lmPart.dtype}; nothing to do`);
  const lmConfig = readMambaLmPartConfig(lmPart, `${join(model, MANIFEST_FILE)} parts.lm`);
  await checkConvertOut(options.out, !!options.force);
  const progress = options.onProgress ?? (() => {});

  return writeFolderAtomically(options.out, async (tmp) => {
    const parts: Partial<Record<PartSlot, Omit<ModelPart, "files"> & { files: string[] }>> = {};
    for (const [slot, part] of Object.entries(manifest.parts) as [PartSlot, ModelPart][]) {
      if (slot === "lm") continue;
      for (const f of part.files) {
        throwIfAborted(options.signal);
        await mkdir(dirname(join(tmp, f.path)), { recursive: true });
        await copyFile(join(model, f.path), join(tmp, f.path));
        await chmod(join(tmp, f.path), 0o644);
      }
      parts[slot] = { ...part, files: part.files.map((f) => f.path) };
    }
    const source = await openConvertedLmWeights(model, lmConfig);
    try {
      parts.lm = await writeLanguageModel(tmp, source, resolveMambaConfig(lmConfig.model), {
        // A quantized graph returns the last position's logits only (what generation reads).
        logits: "last",
        scanOutput: lmConfig.options.scanOutput,
        scan: lmConfig.scan,
        quantization: lmQuantizationFor(dtypes.lm),
        signal: options.signal,
        onProgress: (p) => progress({ item: p.tensor, done: p.bytesDone, total: p.bytesTotal }),
      });
    } finally {
      await source.close();
    }
    const m = await buildManifest(
      {
        modelId: manifest.modelId,
        settings: manifest.settings,
        parts,
        source: { ...manifest.source, quantizedFrom: manifest.source.fingerprint ?? manifest.modelId },
      },
      (paths) => describeFiles(tmp, paths),
    );
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
    return m;
  });
}
