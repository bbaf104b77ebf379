import { createHash } from "node:crypto";
import { chmod, copyFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, openWeights, throwIfAborted, withPrefix } from "@cobra-ts/core/node";
import { mambaTokenizerPart, parseMambaConfig } from "@cobra-ts/mamba-lm";
import { writeLanguageModel } from "@cobra-ts/mamba-lm/node";
import {
  inferProjectorDims,
  projectedTokens,
  projectorPart,
  projectorSpecFromArchSpecifier,
  validateProjectorWeights,
  writeProjectorModel,
} from "@cobra-ts/projector/node";
import {
  openVitRelease,
  type VitTowerConfig,
  vitEncoderPart,
  writeVitModel,
} from "@cobra-ts/vision-encoder/node";
import { buildManifest, type CobraManifest, FORMAT_VERSION, MANIFEST_FILE } from "../manifest.js";
import { writeFolderAtomically } from "./atomic-dir.js";
import { describeFiles } from "./hash.js";
import { checkConvertOut } from "./out-folder.js";
import {
  ALL_FP32,
  blockSizesOf,
  checkBlockSize,
  checkWritableDtypes,
  PART_NAMES,
  type PartDtypes,
  partStorage,
} from "./part-dtypes.js";
import { readCobraConfig, visionBackboneTowers } from "./release-config.js";

export interface ConvertSources {
  /** Cobra run folder: config.json + checkpoints/latest-checkpoint.pt. */
  checkpoint: string;
  /** timm DINOv2 folder; needed when the vision backbone uses DINO. */
  dino?: string;
  /** timm or open_clip SigLIP folder; needed when the vision backbone uses SigLIP. */
  siglip?: string;
  /** Mamba LM folder: config.json + tokenizer.json (+ tokenizer_config.json). */
  llm: string;
}

export interface ConvertProgress {
  stage: "vision" | "projector" | "lm" | "hash";
  /** What is being written, e.g. "dino.onnx". */
  item: string;
  done: number;
  total: number;
}

export interface ConvertOptions {
  out: string;
  /** Storage per part (see parsePartDtypes); every part fp32 when absent. */
  dtypes?: PartDtypes;
  /** Weights per quantization block of the q8 / q4 parts; 32 when absent. */
  blockSize?: number;
  /**
   * Convert again even if `out` holds a conversion of the same sources, and replace an `out` folder that is not a
   * conversion (its contents are deleted). A file is never replaced.
   */
  force?: boolean;
  onProgress?: (p: ConvertProgress) => void;
  signal?: AbortSignal;
}

export interface ConvertResult {
  out: string;
  manifest: CobraManifest;
  /** False when `out` already held this conversion and nothing was written. */
  converted: boolean;
}

const CHECKPOINT_FILE = "checkpoints/latest-checkpoint.pt";
const LM_PREFIX = "model.llm_backbone.";
const PROJECTOR_PREFIX = "model.projector.";

/**
 * Converts the official release files into a runtime folder (ONNX graphs with external weights, tokenizer,
 * cobra.json). Tensors stream from the checkpoint one at a time; the output appears only when complete.
 */
export async function convertRelease(
  sources: ConvertSources,
  options: ConvertOptions,
): Promise<ConvertResult> {
  const dtypes: PartDtypes = options.dtypes ?? ALL_FP32;
  checkWritableDtypes(dtypes);
  checkBlockSize(dtypes, PART_NAMES, options.blockSize);
  const visionStorage = partStorage("vision", dtypes.vision, options.blockSize);
  const projectorStorage = partStorage("projector", dtypes.projector, options.blockSize);
  const cobraConfig = await readCobraConfig(sources.checkpoint);
  const { towers, imageSize } = visionBackboneTowers(cobraConfig.visionBackboneId);
  const checkpointPath = join(sources.checkpoint, CHECKPOINT_FILE);
  const fingerprint = await sourceFingerprint(
    [
      sources.checkpoint,
      join(sources.checkpoint, "checkpoints"),
      ...towers.map((t) => sources[t] ?? ""),
      sources.llm,
    ],
    // fp32-only conversions keep the fingerprint they had before dtypes existed. The block sizes are the
    // resolved ones, so a folder written under an older default is not taken for this default's.
    PART_NAMES.every((p) => dtypes[p] === "fp32")
      ? "fp32"
      : JSON.stringify({ ...dtypes, blockSizes: blockSizesOf(dtypes, options.blockSize) }),
  );
  await checkConvertOut(options.out, !!options.force);
  if (!options.force) {
    const existing = await readExistingManifest(options.out);
    if (existing?.source.fingerprint === fingerprint)
      return { out: options.out, manifest: existing, converted: false };
  }
  const progress = options.onProgress ?? (() => {});
  const lmConfig = parseMambaConfig(JSON.parse(await readFile(join(sources.llm, "config.json"), "utf8")));

  const manifest = await writeFolderAtomically(options.out, async (tmp) => {
    const towerFiles: string[] = [];
    const encoders: VitTowerConfig[] = [];
    let numPatches = 0;
    for (const tower of towers) {
      throwIfAborted(options.signal);
      const folder = sources[tower];
      if (!folder)
        throw new ConfigError(`the vision backbone ${cobraConfig.visionBackboneId} needs --${tower}`);
      const release = await openVitRelease(folder, { imageSize });
      try {
        // The towers' patch grids must agree: their features are concatenated patch by patch.
        if (numPatches && release.config.numPatches !== numPatches)
          throw new ConfigError(
            `${tower} yields ${release.config.numPatches} patches, the other tower ${numPatches}`,
          );
        numPatches = release.config.numPatches;
        progress({ stage: "vision", item: `${tower}.onnx`, done: 0, total: 1 });
        const written = await writeVitModel(tmp, `${tower}.onnx`, release.config, release.weights, {
          quantization: visionStorage,
        });
        towerFiles.push(`${tower}.onnx`, ...written.dataFiles);
        encoders.push({ name: tower, graph: `${tower}.onnx`, vit: release.config });
        progress({ stage: "vision", item: `${tower}.onnx`, done: 1, total: 1 });
      } finally {
        await release.weights.close();
      }
    }

    const encoder = vitEncoderPart(
      { strategy: cobraConfig.imageResizeStrategy, imageSize, towers: encoders },
      towerFiles,
      visionStorage,
    );
    const checkpoint = await openWeights(checkpointPath);
    let projector: ReturnType<typeof projectorPart>;
    let lm: Awaited<ReturnType<typeof writeLanguageModel>>;
    try {
      throwIfAborted(options.signal);
      const spec = projectorSpecFromArchSpecifier(cobraConfig.archSpecifier);
      progress({ stage: "projector", item: "projector.onnx", done: 0, total: 1 });
      const projectorWeights = withPrefix(checkpoint, PROJECTOR_PREFIX);
      const dims = validateProjectorWeights(spec.variant, projectorWeights, {
        ...inferProjectorDims(spec.variant, projectorWeights),
        numPatches,
      });
      const written = await writeProjectorModel(tmp, spec.variant, projectorWeights, {
        dims,
        quantization: projectorStorage,
      });
      projector = projectorPart(
        spec.variant,
        {
          graph: "projector.onnx",
          archSpecifier: cobraConfig.archSpecifier,
          inputDim: dims.visionDim,
          outputDim: dims.llmDim,
          numTokens: projectedTokens(spec.variant, dims),
        },
        written.files,
        projectorStorage,
      );
      progress({ stage: "projector", item: "projector.onnx", done: 1, total: 1 });

      lm = await writeLanguageModel(tmp, withPrefix(checkpoint, LM_PREFIX), lmConfig, {
        quantization: partStorage("lm", dtypes.lm, options.blockSize),
        signal: options.signal,
        onProgress: (p) => progress({ stage: "lm", item: p.tensor, done: p.bytesDone, total: p.bytesTotal }),
      });
    } finally {
      await checkpoint.close();
    }

    const tokenizer = mambaTokenizerPart(await exists(join(sources.llm, "tokenizer_config.json")));
    for (const name of tokenizer.files) {
      await copyFile(join(sources.llm, name), join(tmp, name));
      await chmod(join(tmp, name), 0o644);
    }

    const parts = { encoder, projector, lm, tokenizer };
    const fileCount = Object.values(parts).reduce((n, p) => n + p.files.length, 0);
    progress({ stage: "hash", item: MANIFEST_FILE, done: 0, total: fileCount });
    const m = await buildManifest(
      {
        modelId: cobraConfig.modelId,
        settings: { llmBackboneId: cobraConfig.llmBackboneId, maxPromptLength: cobraConfig.llmMaxLength },
        parts,
        // Only a fingerprint: local paths would leak into every browser that loads the model.
        source: { fingerprint },
      },
      (paths) => describeFiles(tmp, paths),
    );
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
    return m;
  });
  return { out: options.out, manifest, converted: true };
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

async function readExistingManifest(out: string): Promise<CobraManifest | null> {
  try {
    return JSON.parse(await readFile(join(out, MANIFEST_FILE), "utf8"));
  } catch {
    return null;
  }
}

/**
 * Identifies the inputs by the path, size and mtime of every file in the source folders (hashing 12 GB only
 * to find there is nothing to do would defeat the point), plus what this version writes.
 */
async function sourceFingerprint(folders: string[], dtype: string): Promise<string> {
  const parts: unknown[] = [FORMAT_VERSION, dtype];
  for (const folder of folders) {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const s = await stat(join(folder, name));
      if (s.isFile()) parts.push([join(folder, name), s.size, s.mtimeMs]);
    }
  }
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}
