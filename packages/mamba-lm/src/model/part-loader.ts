/**
 * The LM package's part kinds, for table-driven loading: "mamba-lm" (the converted graph; its part config is
 * the one place the model's MambaConfig is stored) and "mamba-tokenizer" (tokenizer.json + its config).
 */
import {
  ConfigError,
  checkPartDtype,
  ModelFormatError,
  type ModelPart,
  type PartDescription,
  type PartLoadContext,
  type PartLoader,
  parseConfig,
  partGraphBytes,
  SCAN_FORMS,
} from "@cobra-ts/core";
import { z } from "zod";
import { type MambaConfig, resolveMambaConfig } from "../config/mamba-config.js";
import { LM_DTYPES, lmDtypeOf } from "../graph/lm-quantization.js";
import type { MambaGraphOptions } from "../graph/mamba-graph.js";
import type { ScanForm } from "../graph/scan-regions.js";
import { MambaTokenizer } from "../tokenizer/mamba-tokenizer.js";
import { type LoadOptions, MambaLM } from "./mamba-lm.js";

const PACKAGE = "@cobra-ts/mamba-lm";

/** The config of a "mamba-lm" part: the graph file, the architecture and how the graph was emitted. */
export interface MambaLmPartConfig {
  graph: string;
  model: MambaConfig;
  options: Required<MambaGraphOptions>;
  /** Where the scans run when the model is loaded (LoadOptions.scan overrides it); "graph" when absent. */
  scan: ScanForm;
}

/** The config of a "mamba-tokenizer" part. */
export interface MambaTokenizerPartConfig {
  tokenizer: string;
  tokenizerConfig: string | null;
}

const positive = z.number().int().positive();
const mambaConfigSchema: z.ZodType<MambaConfig> = z.object({
  dModel: positive,
  nLayer: positive,
  vocabSize: positive,
  padVocabSizeMultiple: positive,
  vocabSizePadded: positive,
  dState: positive,
  dConv: positive,
  expand: z.number().positive(),
  dInner: positive,
  dtRank: positive,
  bias: z.boolean(),
  convBias: z.boolean(),
  rmsNorm: z.boolean(),
  normEps: z.number().positive(),
  tieEmbeddings: z.boolean(),
});
const lmConfigSchema: z.ZodType<MambaLmPartConfig> = z.object({
  graph: z.string().min(1),
  model: mambaConfigSchema,
  scan: z.enum(SCAN_FORMS).default("graph"),
  options: z.object({
    logits: z.enum(["last", "all", "both"]),
    scanOutput: z.enum(["after", "inside", "per-token"]),
    // Absent in folders written before quantization existed: fp32.
    quantization: z
      .discriminatedUnion("method", [
        z.object({
          method: z.literal("matmul-nbits"),
          bits: z.union([z.literal(4), z.literal(8)]),
          headBits: z.union([z.literal(4), z.literal(8)]),
          blockSize: positive,
          accuracyLevel: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
          floatType: z.literal("float16").optional(),
        }),
        z.object({ method: z.literal("float16") }),
      ])
      .nullable()
      .default(null),
  }),
});
const tokenizerConfigSchema: z.ZodType<MambaTokenizerPartConfig> = z.object({
  tokenizer: z.string().min(1),
  tokenizerConfig: z.string().min(1).nullable(),
});

/** The "mamba-lm" part a conversion writes (`files`: the graph first, then its data files). */
export function mambaLmPart(config: MambaLmPartConfig, files: string[]): PartDescription<MambaLmPartConfig> {
  const q = config.options.quantization;
  const part: PartDescription<MambaLmPartConfig> = {
    kind: "mamba-lm",
    files,
    config,
    dtype: q ? lmDtypeOf(q) : "fp32",
  };
  // The manifest's `quantization` is for quantized parts only (not fp32 / fp16), as for the towers.
  return q?.method === "matmul-nbits"
    ? { ...part, quantization: { method: q.method, blockSize: q.blockSize } }
    : part;
}

/** The "mamba-tokenizer" part of a folder holding tokenizer.json (and tokenizer_config.json when `withConfig`). */
export function mambaTokenizerPart(withConfig: boolean): PartDescription<MambaTokenizerPartConfig> {
  const config = {
    tokenizer: "tokenizer.json",
    tokenizerConfig: withConfig ? "tokenizer_config.json" : null,
  };
  return {
    kind: "mamba-tokenizer",
    files: [config.tokenizer, ...(withConfig ? [config.tokenizerConfig!] : [])],
    config,
  };
}

/**
 * Reads a "mamba-lm" part's config: the shapes (ConfigError naming the field), then the architecture's own
 * rules (resolveMambaConfig: derived sizes must be what the stated ones imply).
 */
export function readMambaLmPartConfig(part: Pick<ModelPart, "config">, where: string): MambaLmPartConfig {
  const config = parseConfig(lmConfigSchema, part.config, `${where}.config`);
  const resolved = resolveMambaConfig(config.model);
  for (const key of ["vocabSizePadded", "dInner", "dtRank"] as const)
    if (resolved[key] !== config.model[key])
      throw new ConfigError(
        `${where}.config.model.${key}: ${config.model[key]}, the other fields make it ${resolved[key]}`,
      );
  return config;
}

/** Opens the LM graph of a part: bytes everywhere, or a local path (Node) so the weights stay on disk. */
export type OpenMambaGraph = (
  part: ModelPart,
  config: MambaLmPartConfig,
  context: PartLoadContext,
) => Promise<MambaLM>;

/** The "mamba-lm" loader over a way to open the graph (the Node entry passes one that uses paths). */
export function mambaLmLoader(open: OpenMambaGraph): PartLoader<"lm"> {
  const read = (part: ModelPart, where: string) => {
    checkPartDtype(part, LM_DTYPES, where);
    const config = readMambaLmPartConfig(part, where);
    const q = config.options.quantization;
    if ((q ? lmDtypeOf(q) : "fp32") !== part.dtype)
      throw new ConfigError(
        `${where}.dtype: "${part.dtype}", but config.options.quantization says ${q ? lmDtypeOf(q) : "fp32"}`,
      );
    return config;
  };
  return {
    kind: "mamba-lm",
    slot: "lm",
    packageName: PACKAGE,
    check: (part, where) => void read(part, where),
    async load(part, context) {
      const config = read(part, context.where);
      const lm = await open(part, config, context);
      const { dims } = lm;
      const m = config.model;
      if (
        dims.nLayer !== m.nLayer ||
        dims.dModel !== m.dModel ||
        dims.dState !== m.dState ||
        dims.dInner !== m.dInner
      ) {
        await lm.release();
        throw new ModelFormatError(
          `${context.where}: the graph ${config.graph} has n_layer ${dims.nLayer}, d_model ${dims.dModel}, ` +
            `d_inner ${dims.dInner}, d_state ${dims.dState}; the config says ${m.nLayer}, ${m.dModel}, ${m.dInner}, ${m.dState}: convert the model again`,
        );
      }
      return lm;
    },
  };
}

/** The "mamba-tokenizer" loader: reads the JSON files through the context's reader. */
export const mambaTokenizerLoader: PartLoader<"tokenizer"> = {
  kind: "mamba-tokenizer",
  slot: "tokenizer",
  packageName: PACKAGE,
  check: (part, where) => void parseConfig(tokenizerConfigSchema, part.config, `${where}.config`),
  async load(part, context) {
    const config = parseConfig(tokenizerConfigSchema, part.config, `${context.where}.config`);
    const text = async (path: string) => {
      if (!part.files.some((f) => f.path === path))
        throw new ModelFormatError(`${context.where}: ${path} is not among the part's files`);
      return new TextDecoder().decode(await context.reader.bytes(path));
    };
    return MambaTokenizer.fromJSON(
      await text(config.tokenizer),
      config.tokenizerConfig === null ? undefined : await text(config.tokenizerConfig),
    );
  },
};

/** MambaLM.load's options for a part: its runtime, and the scan form the caller chose, else the config's. */
export function partLoadOptions(config: MambaLmPartConfig, context: PartLoadContext): LoadOptions {
  return { ...context.runtime, signal: context.signal, scan: context.runtime.scan ?? config.scan };
}

/** This package's part loaders, on bytes (browsers, workers); the Node entry's open the graph by path. */
export const mambaLmLoaders: readonly (PartLoader<"lm"> | PartLoader<"tokenizer">)[] = [
  mambaLmLoader(async (part, config, context) =>
    MambaLM.load(await partGraphBytes(part, config.graph, context), partLoadOptions(config, context)),
  ),
  mambaTokenizerLoader,
];
