import { chmod, copyFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PartDescription } from "@cobra-ts/core";
import { FileNotFoundError, throwIfAborted } from "@cobra-ts/core";
import { type MambaConfig, mambaTokenizerPart, resolveMambaConfig } from "@cobra-ts/mamba-lm";
import { writeLanguageModel } from "@cobra-ts/mamba-lm/node";
import {
  projectedTokens,
  projectorPart,
  projectorSpecFromArchSpecifier,
  writeProjectorModel,
} from "@cobra-ts/projector/node";
import {
  resolveVitConfig,
  type VitConfig,
  vitEncoderPart,
  writeVitModel,
} from "@cobra-ts/vision-encoder/node";
import { writeFolderAtomically } from "../convert/atomic-dir.js";
import { checkFreeSpace } from "../convert/out-folder.js";
import {
  ALL_FP32,
  checkBlockSize,
  checkNamedParts,
  checkWritableDtypes,
  type DtypeSpec,
  PART_NAMES,
  partStorage,
} from "../convert/part-dtypes.js";
import type { CobraManifest, ManifestDescription } from "../manifest.js";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson } from "./byte-tokenizer.js";
import { writeSynthManifest } from "./cobra-manifest.js";
import { syntheticMambaTensors } from "./mamba-tensors.js";
import { checkSynthOut, SYNTH_MARKER_FILE } from "./out-policy.js";
import { type CobraPreset, findPreset, type SynthPreset } from "./presets.js";
import { syntheticProjectorTensors } from "./projector-tensors.js";
import { elementCount, type SyntheticTensor } from "./random-tensor.js";
import { SyntheticWeightSource } from "./synthetic-source.js";
import { syntheticVitTensors } from "./vit-tensors.js";

export interface SynthProgress {
  /** The part being written: "dino", "siglip", "projector", "lm", "tokenizer", "manifest". */
  part: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface SynthOptions {
  out: string;
  seed?: number;
  /** Replace a converted model in `out` (a folder that is not a model is never replaced). */
  force?: boolean;
  /** A folder whose tokenizer.json (+ tokenizer_config.json) to copy instead of the byte-level one. */
  tokenizer?: string;
  onProgress?: (p: SynthProgress) => void;
  signal?: AbortSignal;
  /** Storage type per part, as parsePartDtypes reads `--dtype`; fp32 when absent. */
  dtypes?: DtypeSpec;
  /** Weights per quantization block of the q8 / q4 parts; 32 when absent. */
  blockSize?: number;
}

export interface SynthResult {
  out: string;
  preset: string;
  kind: SynthPreset["kind"];
  /** Bytes of every weight written (all external data files). */
  weightBytes: number;
  files: string[];
  manifest: CobraManifest;
}

const DEFAULT_SEED = 1;

/** One part to write: its tensors, and how to turn a source of them into files in the folder. */
interface PartPlan {
  part: string;
  tensors: Map<string, SyntheticTensor>;
  /** Writes the part; `progress` takes each increment of bytes written, where the writer reports them. */
  write: (dir: string, source: SyntheticWeightSource, progress: (bytes: number) => void) => Promise<string[]>;
}

/** The manifest parts a plan's files make up, once every plan has written its files. */
type Describe = (filesOf: (part: string) => string[], tokenizer: PartDescription) => ManifestDescription;

/**
 * Writes a runtime-format model with random weights of the real shapes: an LM-only folder (lm.onnx + data,
 * tokenizer, a cobra.json listing the lm and tokenizer parts; MambaLM.load reads it) or a whole Cobra folder
 * (cobra.json as `cobra convert` writes it; Cobra.load reads it). Every tensor is generated when the writer asks for it and dropped once on disk, so
 * memory stays at about the largest tensor; the folder appears only when complete.
 */
export async function synthesizeModel(presetName: string, options: SynthOptions): Promise<SynthResult> {
  const preset = findPreset(presetName);
  const seed = options.seed ?? DEFAULT_SEED;
  await checkSynthOut(options.out, options.force ?? false);
  const lmConfig = resolveMambaConfig(preset.lm);
  if (options.dtypes) {
    const parts = preset.kind === "lm" ? (["lm"] as const) : undefined;
    if (parts) checkNamedParts(options.dtypes, parts, `the preset ${presetName} (an LM only)`);
    checkWritableDtypes(options.dtypes.dtypes, parts);
  }
  checkBlockSize(
    options.dtypes?.dtypes ?? ALL_FP32,
    preset.kind === "lm" ? ["lm"] : PART_NAMES,
    options.blockSize,
  );
  const lm = lmPlan(lmConfig, options);
  const { plans, describe } =
    preset.kind === "lm"
      ? { plans: [lm.plan], describe: lmOnlyManifest(presetName, seed, lm.part) }
      : cobraPlans(preset, presetName, seed, lmConfig, lm, options);
  const bytesTotal = plans.reduce((s, p) => s + tensorBytes(p.tensors), 0);
  await checkFreeSpace(options.out, bytesTotal);
  if (options.tokenizer) await requireTokenizer(options.tokenizer);

  let bytesDone = 0;
  const report = (part: string, bytes = 0) => {
    bytesDone += bytes;
    options.onProgress?.({ part, bytesDone, bytesTotal });
  };
  const result = await writeFolderAtomically(options.out, async (tmp) => {
    const files: string[] = [];
    const written = new Map<string, string[]>();
    for (const plan of plans) {
      throwIfAborted(options.signal);
      report(plan.part);
      const source = new SyntheticWeightSource(`synthetic ${presetName} ${plan.part}`, plan.tensors, seed);
      let partDone = 0;
      const partProgress = (bytes: number) => {
        partDone += bytes;
        report(plan.part, bytes);
      };
      const planFiles = await plan.write(tmp, source, partProgress);
      written.set(plan.part, planFiles);
      files.push(...planFiles);
      report(plan.part, tensorBytes(plan.tensors) - partDone); // parts whose writer reports nothing finish here
    }
    report("tokenizer");
    const tokenizer = mambaTokenizerPart(true);
    await writeTokenizer(tmp, options.tokenizer);
    files.push(...tokenizer.files);
    const marker = {
      format: "cobra-ts-synth",
      preset: presetName,
      kind: preset.kind,
      seed,
      weights: "random",
    };
    await writeFile(join(tmp, SYNTH_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
    report("manifest");
    const manifest = await writeSynthManifest(
      tmp,
      describe((part) => written.get(part) ?? [], tokenizer),
    );
    const weightBytes = await dataBytes(tmp, files);
    return { manifest, files, weightBytes };
  });
  return { out: options.out, preset: presetName, kind: preset.kind, ...result };
}

/** The LM's plan, and its part once written (the part's config is where the LM config is stored). */
function lmPlan(config: MambaConfig, options: SynthOptions) {
  const written: { part?: PartDescription } = {};
  const plan: PartPlan = {
    part: "lm",
    tensors: syntheticMambaTensors(config),
    write: async (dir, source, progress) => {
      let last = 0;
      written.part = await writeLanguageModel(dir, source, config, {
        quantization: partStorage("lm", options.dtypes?.dtypes.lm ?? "fp32", options.blockSize),
        signal: options.signal,
        onProgress: (p) => {
          progress(p.bytesDone - last);
          last = p.bytesDone;
        },
      });
      return written.part.files;
    },
  };
  const part = (): PartDescription => {
    if (!written.part) throw new Error("the LM part is described only once it is written");
    return written.part;
  };
  return { plan, part };
}

/** cobra.json of an LM-only folder: the lm and tokenizer parts (no settings: it is no whole Cobra). */
function lmOnlyManifest(presetName: string, seed: number, lm: () => PartDescription): Describe {
  return (_filesOf, tokenizer) => ({
    modelId: presetName,
    parts: { lm: lm(), tokenizer },
    source: { synthetic: presetName, seed: String(seed), weights: "random" },
  });
}

/** The towers' ViT configs, as openVitRelease would resolve them at the run size. */
export function towerConfigs(preset: CobraPreset): { name: string; config: VitConfig }[] {
  return preset.towers.map((t) => ({
    name: t.name,
    config: resolveVitConfig(t.architecture, t.modelArgs, { imageSize: preset.imageSize }),
  }));
}

/** What the parts of a whole Cobra are, worked out once for the writers and the manifest. */
function cobraLayout(preset: CobraPreset, lmConfig: MambaConfig) {
  const towers = towerConfigs(preset);
  const variant = projectorSpecFromArchSpecifier(preset.archSpecifier).variant;
  const dims = {
    visionDim: towers.reduce((s, t) => s + t.config.embedDim, 0),
    llmDim: lmConfig.dModel,
    numPatches: towers[0].config.numPatches,
  };
  return { towers, variant, dims, numTokens: projectedTokens(variant, dims) };
}

function cobraPlans(
  preset: CobraPreset,
  presetName: string,
  seed: number,
  lmConfig: MambaConfig,
  lm: ReturnType<typeof lmPlan>,
  options: SynthOptions,
): { plans: PartPlan[]; describe: Describe } {
  const { towers, variant, dims, numTokens } = cobraLayout(preset, lmConfig);
  const visionStorage = partStorage("vision", options.dtypes?.dtypes.vision ?? "fp32", options.blockSize);
  const projectorStorage = partStorage(
    "projector",
    options.dtypes?.dtypes.projector ?? "fp32",
    options.blockSize,
  );
  const towerPlans = towers.map(
    ({ name, config }): PartPlan => ({
      part: name,
      tensors: syntheticVitTensors(config),
      write: async (dir, source) => {
        const written = await writeVitModel(dir, `${name}.onnx`, config, source, {
          quantization: visionStorage,
        });
        return [`${name}.onnx`, ...written.dataFiles];
      },
    }),
  );
  const projector: PartPlan = {
    part: "projector",
    tensors: syntheticProjectorTensors(variant, dims),
    write: async (dir, source) => {
      return (await writeProjectorModel(dir, variant, source, { dims, quantization: projectorStorage }))
        .files;
    },
  };
  // cobra.json's parts as convertRelease records them for a release.
  const describe: Describe = (filesOf, tokenizer) => ({
    modelId: preset.modelId,
    settings: { llmBackboneId: preset.llmBackboneId, maxPromptLength: preset.llmMaxLength },
    parts: {
      encoder: vitEncoderPart(
        {
          strategy: "resize-naive",
          imageSize: preset.imageSize,
          towers: towers.map(({ name, config }) => ({ name, graph: `${name}.onnx`, vit: config })),
        },
        towers.flatMap((t) => filesOf(t.name)),
        visionStorage,
      ),
      projector: projectorPart(
        variant,
        {
          graph: "projector.onnx",
          archSpecifier: preset.archSpecifier,
          inputDim: dims.visionDim,
          outputDim: dims.llmDim,
          numTokens,
        },
        filesOf("projector"),
        projectorStorage,
      ),
      lm: lm.part(),
      tokenizer,
    },
    source: { synthetic: presetName, seed: String(seed), weights: "random" },
  });
  return { plans: [...towerPlans, projector, lm.plan], describe };
}

function tensorBytes(tensors: Map<string, SyntheticTensor>): number {
  let n = 0;
  for (const t of tensors.values()) n += 4 * elementCount(t.shape);
  return n;
}

async function requireTokenizer(dir: string): Promise<void> {
  if (!(await stat(join(dir, "tokenizer.json")).catch(() => null)))
    throw new FileNotFoundError(join(dir, "tokenizer.json"), "--tokenizer folder's tokenizer.json");
}

/** tokenizer.json + tokenizer_config.json: copied from `from`, or the byte-level stand-in. */
async function writeTokenizer(dir: string, from: string | undefined): Promise<string[]> {
  if (!from) {
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(byteLevelTokenizerJson()));
    await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(byteLevelTokenizerConfig(), null, 2));
    return ["tokenizer.json", "tokenizer_config.json"];
  }
  // Copies keep the source's mode; fixtures and hub caches are often read-only, the model folder must not be.
  const copy = async (name: string) => {
    await copyFile(join(from, name), join(dir, name));
    await chmod(join(dir, name), 0o644);
  };
  await copy("tokenizer.json");
  if (await stat(join(from, "tokenizer_config.json")).catch(() => null)) await copy("tokenizer_config.json");
  else
    await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(byteLevelTokenizerConfig(), null, 2));
  return ["tokenizer.json", "tokenizer_config.json"];
}

async function dataBytes(dir: string, files: string[]): Promise<number> {
  let n = 0;
  for (const f of files) if (/\.data(\.\d+)?$/.test(f)) n += (await stat(join(dir, f))).size;
  return n;
}
