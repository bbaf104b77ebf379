/**
 * Table-driven loading: a model folder lists its parts as `{ kind, files, config, dtype, backend? }`; each
 * package registers a loader for the kinds it implements; one composer looks the loaders up by kind and hands
 * them a file reader (Node paths, URLs, picked files, a cache: whatever the platform has).
 */
import { z } from "zod";
import type { LanguageModel, Projector, Tokenizer, VisionEncoder } from "./contracts.js";
import { ConfigError, InvalidArgumentError, ModelFormatError } from "./errors.js";
import type { SessionOptions } from "./runtime/ort.js";
import type { Backend, OrtModule } from "./runtime/ort-modules.js";

/** How a part's weights are stored. "fp32" is all a conversion writes today; the rest are quantized forms. */
export const PART_DTYPES = ["fp32", "fp16", "q8", "q4", "q4f16"] as const;
export type PartDtype = (typeof PART_DTYPES)[number];

/** How a quantized part was quantized (absent for fp32/fp16). */
export interface PartQuantization {
  /** e.g. "symmetric-block", "asymmetric-block". */
  method: string;
  /** Weights per scale, for block-wise methods. */
  blockSize?: number;
}

/** One file of a model folder: its path relative to the folder, its size and its sha256 (hex). */
export interface ModelFile {
  path: string;
  size: number;
  sha256: string;
}

/** A part as the manifest lists it; `config` is the loader's to read (and check). */
export interface ModelPart {
  kind: string;
  files: ModelFile[];
  config: unknown;
  /** Absent only for a part without weights (a tokenizer). */
  dtype?: PartDtype;
  quantization?: PartQuantization;
  /** The backend the part was prepared for; the caller's choice wins. */
  backend?: Backend;
}

/** A part as a writer describes it before its files are hashed. */
export interface PartDescription<C = unknown> extends Omit<ModelPart, "files" | "config"> {
  files: string[];
  config: C;
}

/** The slots of a composed model and the contract a part in each implements. */
export interface PartSlots {
  encoder: VisionEncoder;
  projector: Projector;
  lm: LanguageModel;
  tokenizer: Tokenizer;
}
export type PartSlot = keyof PartSlots;
export const PART_SLOTS: readonly PartSlot[] = ["encoder", "projector", "lm", "tokenizer"];

/** Progress of one file being read. */
export interface FileProgress {
  file: string;
  loaded: number;
  total: number | null;
}

/**
 * Reads the files of one model folder, wherever it is. `size` and `sha256` let the composer check every file
 * against the manifest before any graph is opened.
 */
export interface ModelFileReader {
  /** Where the folder is, for messages: a path, a URL, "the picked folder". */
  readonly where: string;
  /** The file's size in bytes, or null when it is absent. */
  size(path: string): Promise<number | null>;
  /** The whole file. */
  bytes(path: string): Promise<Uint8Array>;
  /** The file's sha256, hex; `onBytes` hears how many bytes are hashed so far (for progress). */
  sha256(path: string, onBytes?: (bytes: number) => void): Promise<string>;
  /** A path onnxruntime can open by itself (Node), so big weights never pass through JavaScript memory. */
  localPath?(path: string): string;
}

/**
 * Where a language model's selective scans run: "graph" (inside the one onnxruntime graph, its Scan op) or
 * "kernel" (the graph runs in segments between the scans, a @cobra-ts/scan kernel runs each scan).
 */
export const SCAN_FORMS = ["graph", "kernel"] as const;
export type ScanForm = (typeof SCAN_FORMS)[number];

/** A caller's scan form: one of SCAN_FORMS, or undefined (the model's own); else an InvalidArgumentError. */
export function checkScanForm(scan: unknown): asserts scan is ScanForm | undefined {
  if (scan !== undefined && !SCAN_FORMS.includes(scan as ScanForm))
    throw new InvalidArgumentError(`scan must be "graph" or "kernel", got ${JSON.stringify(scan)}`);
}

/** The runtime a part is loaded on: its backend, and the onnxruntime module when the caller chose one. */
export interface PartRuntime {
  backend: Backend;
  ort?: OrtModule;
  threads?: number;
  /** For a language model part: where its scans run, over what its config says (the caller's choice). */
  scan?: ScanForm;
}

export interface PartLoadContext {
  reader: ModelFileReader;
  runtime: PartRuntime;
  /** Names the part in messages, e.g. "cobra.json parts.lm". */
  where: string;
  signal?: AbortSignal;
}

/** Loads the parts of one kind. A package exports its loaders; the composer registers them. */
export interface PartLoader<S extends PartSlot = PartSlot> {
  readonly kind: string;
  readonly slot: S;
  /** The package that registers this kind (named when a manifest asks for a kind nobody registered). */
  readonly packageName: string;
  /** Checks the part's config (and dtype) without reading any file; throws ConfigError naming the field. */
  check(part: ModelPart, where: string): void;
  load(part: ModelPart, context: PartLoadContext): Promise<PartSlots[S]>;
}

/** A loader of any slot. */
export type AnyPartLoader = { [S in PartSlot]: PartLoader<S> }[PartSlot];

/** A manifest names a part kind that no registered loader serves. */
export class UnknownPartKindError extends ModelFormatError {
  override name = "UnknownPartKindError";
  constructor(
    readonly kind: string,
    readonly slot: PartSlot,
    readonly known: readonly string[],
    readonly packages: readonly string[],
    where: string,
  ) {
    super(
      `${where}: no loader for part kind "${kind}" (slot ${slot}); the registered kinds are ` +
        `${known.map((k) => `"${k}"`).join(", ") || "none"}, from ${packages.join(", ") || "no package"}: ` +
        "register the package that implements it (Cobra.load's `loaders` option), or convert the model again",
    );
  }
}

/** The loaders a composer knows, by slot and kind. */
export class PartLoaderRegistry {
  private readonly bySlot: { [S in PartSlot]: Map<string, PartLoader<S>> } = {
    encoder: new Map(),
    projector: new Map(),
    lm: new Map(),
    tokenizer: new Map(),
  };

  /** The packages that registered kinds, in registration order. */
  private readonly packages = new Set<string>();

  constructor(loaders: readonly AnyPartLoader[] = []) {
    for (const loader of loaders) this.register(loader);
  }

  /** Adds a loader; a later one for the same slot and kind replaces the earlier (a custom implementation). */
  register(loader: AnyPartLoader): this {
    this.packages.add(loader.packageName);
    switch (loader.slot) {
      case "encoder":
        this.bySlot.encoder.set(loader.kind, loader);
        break;
      case "projector":
        this.bySlot.projector.set(loader.kind, loader);
        break;
      case "lm":
        this.bySlot.lm.set(loader.kind, loader);
        break;
      case "tokenizer":
        this.bySlot.tokenizer.set(loader.kind, loader);
        break;
    }
    return this;
  }

  /** The loader of `kind` for `slot`; UnknownPartKindError naming the known kinds and their packages. */
  get<S extends PartSlot>(slot: S, kind: string, where: string): PartLoader<S> {
    const loaders: Map<string, PartLoader<S>> = this.bySlot[slot];
    const loader = loaders.get(kind);
    if (loader) return loader;
    throw new UnknownPartKindError(kind, slot, [...loaders.keys()], [...this.packages], where);
  }
}

/** The dotted path of a zod issue, e.g. "towers[0].vit.depth". */
function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

/**
 * Parses `value` with `schema`; a mismatch is a ConfigError naming the field (`where.field: problem`), so a
 * hand-edited or foreign manifest says exactly what is wrong.
 */
export function parseConfig<T>(
  schema: z.ZodType<T>,
  value: unknown,
  where: string,
  ErrorClass: new (message: string) => Error = ConfigError,
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issuePath(issue.path);
  throw new ErrorClass(`${where}${field ? `.${field}` : ""}: ${issue.message}`);
}

/** Checks a part's dtype against what its loader can run; throws ConfigError naming the dtype field. */
export function checkPartDtype(part: ModelPart, supported: readonly PartDtype[], where: string): void {
  if (part.dtype === undefined || !supported.includes(part.dtype))
    throw new ConfigError(
      `${where}.dtype: "${String(part.dtype)}" is not supported by the ${part.kind} loader (it runs ${supported.join(", ")})`,
    );
}

/** The schema of a part as the manifest lists it; `config` is left for the part's loader. */
export const modelPartSchema = z.object({
  kind: z.string().min(1),
  files: z.array(
    z.object({
      path: z.string().min(1),
      size: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 hex digits"),
    }),
  ),
  config: z.unknown(),
  dtype: z.enum(PART_DTYPES).optional(),
  quantization: z
    .object({ method: z.string().min(1), blockSize: z.number().int().positive().optional() })
    .optional(),
  backend: z.enum(["cpu", "wasm", "webgpu"]).optional(),
});

function graphFiles(part: ModelPart, graph: string, where: string): string[] {
  if (!part.files.some((f) => f.path === graph))
    throw new ModelFormatError(`${where}: the graph ${graph} is not among the part's files`);
  return part.files.filter((f) => f.path.startsWith(`${graph}.data`)).map((f) => f.path);
}

/** The graph file `graph` of a part and its external data files, as bytes (no file system needed). */
export async function partGraphBytes(
  part: ModelPart,
  graph: string,
  context: PartLoadContext,
): Promise<{ model: Uint8Array; externalData: { path: string; data: Uint8Array }[] }> {
  const externalData = [];
  for (const path of graphFiles(part, graph, context.where))
    externalData.push({ path, data: await context.reader.bytes(path) });
  return { model: await context.reader.bytes(graph), externalData };
}

/** The graph file `graph` of a part, as onnxruntime opens it: a local path where the reader has one, else bytes. */
export async function partGraph(
  part: ModelPart,
  graph: string,
  context: PartLoadContext,
): Promise<{ model: string | Uint8Array; externalData?: SessionOptions["externalData"] }> {
  const { reader, runtime } = context;
  if (!reader.localPath) return partGraphBytes(part, graph, context);
  const dataFiles = graphFiles(part, graph, context.where);
  // onnxruntime-node finds the data beside the graph; onnxruntime-web (wasm) must be told where it is.
  const local = reader.localPath.bind(reader);
  const externalData =
    runtime.backend === "wasm" ? dataFiles.map((path) => ({ path, data: local(path) })) : undefined;
  return { model: local(graph), externalData };
}
