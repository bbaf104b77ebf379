import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  ConfigError,
  FileNotFoundError,
  InvalidArgumentError,
  type LinearQuantization,
  type ModelPart,
  type PartSlot,
  throwIfAborted,
  type WeightSource,
} from "@cobra-ts/core/node";
import {
  type LmQuantization,
  type MambaLmPartConfig,
  readMambaLmPartConfig,
  resolveMambaConfig,
} from "@cobra-ts/mamba-lm";
import { openConvertedLmWeights, writeLanguageModel } from "@cobra-ts/mamba-lm/node";
import {
  openConvertedProjectorWeights,
  type ProjectorDims,
  type ProjectorPartConfig,
  type ProjectorVariant,
  projectorPart,
  readProjectorPart,
  writeProjectorModel,
} from "@cobra-ts/projector/node";
import {
  openConvertedVitTensors,
  readVitEncoderPartConfig,
  type VitEncoderPartConfig,
  type VitGraphTensors,
  vitEncoderPart,
  writeVitModel,
} from "@cobra-ts/vision-encoder/node";
import { buildManifest, type CobraManifest, MANIFEST_FILE, parseManifest, SLOT_OF } from "../manifest.js";
import { writeFolderAtomically } from "./atomic-dir.js";
import { describeFiles } from "./hash.js";
import { checkConvertOut } from "./out-folder.js";
import {
  checkBlockSize,
  checkNamedParts,
  checkWritableDtypes,
  type DtypeSpec,
  PART_NAMES,
  type PartName,
  partStorage,
} from "./part-dtypes.js";

export interface QuantizeOptions {
  out: string;
  /**
   * As parsePartDtypes reads `--dtype`: one name (`q8`) for every part; `<part>=<dtype>` for the parts named,
   * the others keeping theirs.
   */
  dtypes: DtypeSpec;
  /** Weights per block of the q8 / q4 parts written; 32 (what convert writes) unless given. */
  blockSize?: number;
  force?: boolean;
  onProgress?: (p: { item: string; done: number; total: number }) => void;
  signal?: AbortSignal;
}

const LABEL: Record<PartName, string> = { vision: "vision encoder", projector: "projector", lm: "LM" };

type WrittenPart = Omit<ModelPart, "files"> & { files: string[] };

/** A part to write again: its fp32 weights, opened (and checked) before anything is written. */
type Requantized =
  | {
      name: "vision";
      config: VitEncoderPartConfig;
      towers: (VitGraphTensors & { close(): Promise<void> })[];
      storage: LinearQuantization | null;
    }
  | {
      name: "projector";
      variant: ProjectorVariant;
      config: ProjectorPartConfig;
      dims: Required<ProjectorDims>;
      weights: WeightSource;
      storage: LinearQuantization | null;
    }
  | { name: "lm"; config: MambaLmPartConfig; weights: WeightSource; storage: LmQuantization | null };

/**
 * Writes the converted model in `model` again with some parts at another dtype, without the release files: a
 * part's fp32 weights are read back from its graph and written by the writer convert uses, so the result is
 * what `cobra convert --dtype` writes from the release; every other part is copied as it is. Only an fp32 part
 * can be quantized (doing it again from q8 or fp16 would add a second rounding to the first).
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
  const names = changedParts(model, manifest, options.dtypes, options.blockSize);
  await checkConvertOut(options.out, !!options.force);

  const opened: Requantized[] = [];
  try {
    for (const name of names) opened.push(await openPart(model, manifest, name, options));
    const progress = options.onProgress ?? (() => {});
    return await writeFolderAtomically(options.out, async (tmp) => {
      const parts: Partial<Record<PartSlot, WrittenPart>> = {};
      for (const [slot, part] of Object.entries(manifest.parts) as [PartSlot, ModelPart][]) {
        throwIfAborted(options.signal);
        const requantized = opened.find((p) => SLOT_OF[p.name] === slot);
        parts[slot] = requantized
          ? await writePart(tmp, requantized, options.signal, (item, done, total) =>
              progress({ item: `${requantized.name} ${item}`, done, total }),
            )
          : await copyPart(model, tmp, part);
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
  } finally {
    await Promise.all(opened.map(closePart));
  }
}

/**
 * The parts `spec` asks to change, checked against the manifest before anything is read or written: each is
 * fp32 now and can be written at the dtype asked (a part asked at the dtype it has is kept as it is).
 */
function changedParts(
  model: string,
  manifest: CobraManifest,
  spec: DtypeSpec,
  blockSize: number | undefined,
): PartName[] {
  const present = PART_NAMES.filter((p) => manifest.parts[SLOT_OF[p]]);
  checkNamedParts(spec, present, model);
  const asked = present.filter((p) => spec.named.length === 0 || spec.named.includes(p));
  checkWritableDtypes(spec.dtypes, asked);
  const dtypeOf = (p: PartName) => manifest.parts[SLOT_OF[p]]!.dtype;
  const changed = asked.filter((p) => dtypeOf(p) !== spec.dtypes[p]);
  for (const p of changed)
    if (dtypeOf(p) !== "fp32")
      throw new InvalidArgumentError(
        `the ${LABEL[p]} in ${model} is already ${dtypeOf(p)}; quantize from the fp32 conversion`,
      );
  if (changed.length === 0)
    throw new InvalidArgumentError(
      `${model}: ${asked.map((p) => `the ${LABEL[p]} is already ${dtypeOf(p)}`).join(", ")}; nothing to do`,
    );
  checkBlockSize(spec.dtypes, changed, blockSize);
  return changed;
}

async function openPart(
  model: string,
  manifest: CobraManifest,
  name: PartName,
  options: QuantizeOptions,
): Promise<Requantized> {
  const where = `${join(model, MANIFEST_FILE)} parts.${SLOT_OF[name]}`;
  const part = manifest.parts[SLOT_OF[name]]!;
  const dtype = options.dtypes.dtypes[name];
  if (name === "lm") {
    const config = readMambaLmPartConfig(part, where);
    const storage = partStorage(name, dtype, options.blockSize);
    return { name, config, storage, weights: await openConvertedLmWeights(model, config) };
  }
  const storage = partStorage(name, dtype, options.blockSize);
  const encoder = manifest.parts.encoder;
  const encoderConfig =
    encoder && readVitEncoderPartConfig(encoder, `${join(model, MANIFEST_FILE)} parts.encoder`);
  if (name === "vision") {
    const towers: Extract<Requantized, { name: "vision" }>["towers"] = [];
    try {
      for (const tower of encoderConfig!.towers) towers.push(await openConvertedVitTensors(model, tower));
    } catch (e) {
      await Promise.all(towers.map((t) => t.close()));
      throw e;
    }
    return { name, config: encoderConfig!, towers, storage };
  }
  const { variant, config } = readProjectorPart(part, where);
  if (!encoderConfig)
    throw new ConfigError(
      `${where}: the projector's patch count comes from the encoder, which ${model} lacks`,
    );
  const numPatches = encoderConfig.towers[0].vit.numPatches;
  const { weights, dims } = await openConvertedProjectorWeights(model, variant, config, numPatches);
  return { name, variant, config, dims, weights, storage };
}

async function closePart(p: Requantized): Promise<void> {
  if (p.name === "vision") await Promise.all(p.towers.map((t) => t.close()));
  else await p.weights.close();
}

/** Writes `p` into `dir` as convert writes that part at its dtype. */
async function writePart(
  dir: string,
  p: Requantized,
  signal: AbortSignal | undefined,
  progress: (item: string, done: number, total: number) => void,
): Promise<WrittenPart> {
  if (p.name === "vision") {
    const files: string[] = [];
    for (const [i, tower] of p.config.towers.entries()) {
      throwIfAborted(signal);
      progress(tower.graph, 0, 1);
      const written = await writeVitModel(dir, tower.graph, tower.vit, p.towers[i], {
        quantization: p.storage,
      });
      files.push(tower.graph, ...written.dataFiles);
      progress(tower.graph, 1, 1);
    }
    return vitEncoderPart(p.config, files, p.storage);
  }
  if (p.name === "projector") {
    progress(p.config.graph, 0, 1);
    const written = await writeProjectorModel(dir, p.variant, p.weights, {
      dims: p.dims,
      fileName: p.config.graph,
      quantization: p.storage,
    });
    progress(p.config.graph, 1, 1);
    return projectorPart(p.variant, p.config, written.files, p.storage);
  }
  return writeLanguageModel(dir, p.weights, resolveMambaConfig(p.config.model), {
    // A quantized graph returns the last position's logits only (what generation reads).
    logits: "last",
    scanOutput: p.config.options.scanOutput,
    scan: p.config.scan,
    quantization: p.storage,
    signal,
    onProgress: (q) => progress(q.tensor, q.bytesDone, q.bytesTotal),
  });
}

/** A part kept as it is: its files copied unchanged. */
async function copyPart(model: string, dir: string, part: ModelPart): Promise<WrittenPart> {
  for (const f of part.files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await copyFile(join(model, f.path), join(dir, f.path));
    await chmod(join(dir, f.path), 0o644);
  }
  return { ...part, files: part.files.map((f) => f.path) };
}
