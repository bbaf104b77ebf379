/**
 * The one model loader, for Node and browsers alike: reads cobra.json through a file reader, checks it whole
 * (every part's kind has a registered loader, every config is valid, every file has its listed size, and
 * sha256 when asked) before any graph is opened, then has each part's loader build its part.
 */
import {
  type AnyPartLoader,
  type Backend,
  checkScanForm,
  type FileProgress,
  type ModelFileReader,
  ModelFormatError,
  type ModelPart,
  type PartLoadContext,
  PartLoaderRegistry,
  type PartRuntime,
  type PartSlot,
  type ScanForm,
  throwIfAborted,
} from "@cobra-ts/core";
import { type CobraManifest, MANIFEST_FILE, manifestFiles, parseManifest, uniqueFiles } from "../manifest.js";
import { type BackendChoice, type PartBackends, type RuntimePart, resolvePartBackends } from "./backends.js";
import { type CheckFilesOptions, checkModelFiles, type FileCheck, throwIfBadFiles } from "./check-files.js";
import type { CobraParts, CobraSettings } from "./cobra.js";

/** The four slots a Cobra model needs, in the order they are loaded. */
const COBRA_SLOTS = ["encoder", "projector", "lm", "tokenizer"] as const;

/** The runtime part (the `backend` option's key) each slot runs on; the tokenizer runs in JavaScript. */
const RUNTIME_OF: Record<Exclude<PartSlot, "tokenizer">, RuntimePart> = {
  encoder: "vision",
  projector: "projector",
  lm: "lm",
};

export interface PartProgress {
  /** The part just loaded: "encoder", "projector", "lm" or "tokenizer". */
  part: string;
  done: number;
  total: number;
}

export interface LoadPartsOptions {
  /** The loaders of every part kind the folder may name (each package exports its own). */
  loaders: readonly AnyPartLoader[];
  backend?: BackendChoice;
  /** The platform's default backend (cpu in Node, wasm in browsers). */
  defaultBackend: Backend;
  /** Turns a part's backend into its runtime (browsers: the configured onnxruntime-web module). */
  runtimeFor: (part: RuntimePart, backend: Backend) => Promise<PartRuntime>;
  /** Where the LM's selective scans run, over what cobra.json's lm part says. */
  scan?: ScanForm;
  /** Also check every file's sha256 against the manifest before loading (reads every byte). */
  verify?: boolean;
  /** Replace any part with your own implementation: the rest is loaded from the folder. */
  parts?: Partial<CobraParts>;
  onProgress?: (p: PartProgress) => void;
  signal?: AbortSignal;
}

export interface LoadedModel {
  manifest: CobraManifest;
  parts: CobraParts;
  settings: Partial<CobraSettings>;
  backends: Record<RuntimePart, Backend>;
}

/** The manifest's place, for messages. */
export function manifestWhere(reader: ModelFileReader): string {
  return `${reader.where}${reader.where.endsWith("/") ? "" : "/"}${MANIFEST_FILE}`;
}

/** Reads and parses the manifest through `reader`. */
/** The backends the manifest records for its parts (`backend` in a part's entry), by runtime part. */
export function recordedBackends(manifest: CobraManifest): PartBackends {
  const hints: PartBackends = {};
  for (const slot of ["encoder", "projector", "lm"] as const) {
    const hint = manifest.parts[slot]?.backend;
    if (hint) hints[RUNTIME_OF[slot]] = hint;
  }
  return hints;
}

export async function readManifestFrom(reader: ModelFileReader): Promise<CobraManifest> {
  const where = manifestWhere(reader);
  return parseManifest(new TextDecoder().decode(await reader.bytes(MANIFEST_FILE)), where, reader.where);
}

/**
 * Every file the manifest lists, of every part, checked as the loader checks them with `verify` (size and
 * sha256), without loading anything: what `cobra verify` reports.
 */
export async function verifyModelFolder(
  reader: ModelFileReader,
  options: Omit<CheckFilesOptions, "sha256"> = {},
): Promise<FileCheck[]> {
  const manifest = await readManifestFrom(reader);
  return checkModelFiles(reader, manifestFiles(manifest), { ...options, sha256: true });
}

export async function loadModelParts(
  reader: ModelFileReader,
  options: LoadPartsOptions,
): Promise<LoadedModel> {
  throwIfAborted(options.signal);
  checkScanForm(options.scan);
  const manifest = await readManifestFrom(reader);
  const where = manifestWhere(reader);
  const given = options.parts ?? {};
  const registry = new PartLoaderRegistry(options.loaders);

  // Everything about the manifest is checked before the first graph is opened.
  const toLoad = COBRA_SLOTS.filter((slot) => !given[slot]);
  const listed: ModelPart[] = [];
  for (const slot of toLoad) {
    const part = manifest.parts[slot];
    if (!part) {
      const lmOnly = manifest.parts.lm && !manifest.parts.encoder;
      throw new ModelFormatError(
        `${where} has no ${slot} part` +
          (lmOnly
            ? ": it is a language model only (cobra synth --preset mamba-*); load it with MambaLM.load or cobra bench"
            : ": convert the model again"),
      );
    }
    registry.get(slot, part.kind, `${where} parts.${slot}`).check(part, `${where} parts.${slot}`);
    listed.push(part);
  }
  throwIfBadFiles(
    where,
    await checkModelFiles(reader, uniqueFiles(listed), { sha256: options.verify, signal: options.signal }),
  );

  const backends = resolvePartBackends(options.backend, options.defaultBackend, recordedBackends(manifest));

  const into: Partial<CobraParts> = { ...given };
  const loaded: PartSlot[] = [];
  const progress = (part: string) =>
    options.onProgress?.({
      part,
      done: COBRA_SLOTS.indexOf(part as PartSlot) + 1,
      total: COBRA_SLOTS.length,
    });
  try {
    for (const slot of COBRA_SLOTS) {
      throwIfAborted(options.signal);
      const part = manifest.parts[slot];
      if (!given[slot] && part) {
        const runtime: PartRuntime =
          slot === "tokenizer"
            ? { backend: options.defaultBackend }
            : {
                ...(await options.runtimeFor(RUNTIME_OF[slot], backends[RUNTIME_OF[slot]])),
                ...(slot === "lm" ? { scan: options.scan } : {}),
              };
        const context: PartLoadContext = {
          reader,
          runtime,
          where: `${where} parts.${slot}`,
          signal: options.signal,
        };
        await loadSlot(registry, slot, part, context, into);
        loaded.push(slot);
      }
      progress(slot);
    }
  } catch (e) {
    await Promise.all(loaded.map((slot) => (slot === "tokenizer" ? undefined : into[slot]?.release?.())));
    throw e;
  }
  const { encoder, projector, lm, tokenizer } = into;
  // Every slot was either given or loaded above; this only tells the compiler.
  if (!encoder || !projector || !lm || !tokenizer) throw new ModelFormatError(`${where}: a part is missing`);
  return {
    manifest,
    parts: { ...into, encoder, projector, lm, tokenizer },
    settings: manifest.settings ?? {},
    backends,
  };
}

/** Loads one slot into `into`, each slot through its own typed loader. */
async function loadSlot(
  registry: PartLoaderRegistry,
  slot: PartSlot,
  part: ModelPart,
  context: PartLoadContext,
  into: Partial<CobraParts>,
): Promise<void> {
  switch (slot) {
    case "encoder":
      into.encoder = await registry.get("encoder", part.kind, context.where).load(part, context);
      break;
    case "projector":
      into.projector = await registry.get("projector", part.kind, context.where).load(part, context);
      break;
    case "lm":
      into.lm = await registry.get("lm", part.kind, context.where).load(part, context);
      break;
    case "tokenizer":
      into.tokenizer = await registry.get("tokenizer", part.kind, context.where).load(part, context);
      break;
  }
}

export type { FileProgress };
