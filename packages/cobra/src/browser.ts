/**
 * Browser entry: Cobra on onnxruntime-web (WASM, or WebGPU where the browser has an adapter), one backend for
 * the whole model or one per part. Load a converted model folder from a URL or from files the user picked;
 * everything else is the Node API.
 */
import {
  type AnyPartLoader,
  type Backend,
  type FileProgress,
  InvalidArgumentError,
  type ModelFileReader,
  type OrtModule,
  ortFor,
  type ScanForm,
} from "@cobra-ts/core";
import { mambaLmLoaders } from "@cobra-ts/mamba-lm";
import { projectorLoaders } from "@cobra-ts/projector";
import {
  type BrowserImageSource,
  decodeImageBrowser,
  visionEncoderLoaders,
} from "@cobra-ts/vision-encoder/browser";
import {
  type BackendChoice,
  RUNTIME_PARTS,
  type RuntimePart,
  resolvePartBackends,
} from "./runtime/backends.js";
import { CobraEngine, type CobraParts, type CobraSettings } from "./runtime/cobra.js";
import { blobReader, type ReaderOptions, urlReader } from "./runtime/file-readers.js";
import { loadModelParts } from "./runtime/load-parts.js";

export * from "./manifest.js";
export * from "./prompt/index.js";
export type { BackendChoice, PartBackends, RuntimePart } from "./runtime/backends.js";
export { type CacheReader, type CacheReaderOptions, cacheReader } from "./runtime/cache-reader.js";
export * from "./runtime/cobra.js";
export { blobReader, type ReaderOptions, sha256Hex, urlReader } from "./runtime/file-readers.js";
export {
  type LoadedModel,
  loadModelParts,
  type PartProgress,
  readManifestFrom,
} from "./runtime/load-parts.js";
export * from "./runtime/request.js";
export type { FileProgress };

/**
 * Where a browser reads a model folder from: a base URL, files the user picked (path -> Blob), or any reader
 * (e.g. `cacheReader(url)`, which keeps the files in the Cache API).
 */
export type ModelSource = string | ReadonlyMap<string, Blob> | ModelFileReader;

/** The part loaders a browser registers: every kind this project's packages implement (graphs as bytes). */
export const BROWSER_PART_LOADERS: readonly AnyPartLoader[] = [
  ...visionEncoderLoaders,
  ...projectorLoaders,
  ...mambaLmLoaders,
];

export interface BrowserLoadOptions {
  /**
   * "wasm" (the default) or "webgpu" for every part, or one per part: `{ vision: "webgpu", lm: "wasm" }` (an
   * absent part runs on the backend cobra.json records, else wasm).
   */
  backend?: BackendChoice;
  onProgress?: (p: FileProgress) => void;
  /** Used for every file when the source is a URL (e.g. a fetch that caches in the Cache API). */
  fetch?: typeof fetch;
  /** Where onnxruntime-web's .wasm/.mjs files are served: set on the env of every onnxruntime-web module used. */
  wasmPaths?: string;
  /** WASM threads (needs a cross-origin isolated page); onnxruntime's default otherwise. Per module, like wasmPaths. */
  threads?: number;
  /**
   * Where the LM's selective scans run: "graph" (inside its onnxruntime graph) or "kernel" (a @cobra-ts/scan
   * kernel between graph segments: WGSL on a GPUDevice when the LM's backend is "webgpu", onnxruntime's own
   * device where it allows the kernel's 10 storage buffers, else WebAssembly SIMD; a WebGPU kernel that cannot
   * start is a BackendUnavailableError); default what cobra.json's lm part says ("graph").
   */
  scan?: ScanForm;
  /** Also check every file's sha256 against cobra.json before any graph is opened. */
  verify?: boolean;
  signal?: AbortSignal;
  parts?: Partial<CobraParts>;
  /** Loaders for part kinds of your own (they replace a built-in loader of the same slot and kind). */
  loaders?: readonly AnyPartLoader[];
}

/** The reader of a browser model source. */
export function readerFor(source: ModelSource, options: ReaderOptions = {}): ModelFileReader {
  if (typeof source === "string") return urlReader(source, options);
  if ("sha256" in source) return source;
  return blobReader(source, options);
}

function refuseCpu(part: RuntimePart, backend: Backend): void {
  if (backend === "cpu")
    throw new InvalidArgumentError(
      `backend.${part}: "cpu" is onnxruntime-node, which only runs in Node; use "wasm" or "webgpu" in a browser`,
    );
}

/**
 * The onnxruntime-web module of a backend (onnxruntime-web for wasm, onnxruntime-web/webgpu for webgpu), with
 * wasmPaths/threads set on each module's own env, once per module.
 */
function browserRuntimes(options: BrowserLoadOptions) {
  const configured = new Set<OrtModule>();
  let adapter: Promise<boolean> | undefined;
  return async (part: RuntimePart, backend: Backend) => {
    refuseCpu(part, backend);
    if (backend === "webgpu" && !(await (adapter ??= hasWebGpuAdapter())))
      throw new InvalidArgumentError("this browser has no WebGPU adapter: use the wasm backend");
    const ort = await ortFor({ backend });
    if (!configured.has(ort)) {
      if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
      if (options.threads) ort.env.wasm.numThreads = options.threads;
      configured.add(ort);
    }
    return { backend, ort };
  };
}

/** "wasm" when every part runs there; else each part's, e.g. "vision webgpu, projector webgpu, lm wasm". */
function describeBackends(backends: Record<RuntimePart, Backend>): string {
  const names = RUNTIME_PARTS.map((p) => backends[p]);
  return names.every((b) => b === names[0])
    ? names[0]
    : RUNTIME_PARTS.map((p) => `${p} ${backends[p]}`).join(", ");
}

export class Cobra extends CobraEngine<BrowserImageSource> {
  /** Where the model runs: one backend name, or each part's when they differ. */
  backend = "wasm";

  static async load(source: ModelSource, options: BrowserLoadOptions = {}): Promise<Cobra> {
    // The caller's own choice is checked before anything is read.
    const chosen = resolvePartBackends(options.backend, "wasm");
    if (options.backend !== undefined) for (const part of RUNTIME_PARTS) refuseCpu(part, chosen[part]);
    const reader = readerFor(source, options);
    const { manifest, parts, settings, backends } = await loadModelParts(reader, {
      backend: options.backend,
      verify: options.verify,
      scan: options.scan,
      parts: options.parts,
      signal: options.signal,
      loaders: [...BROWSER_PART_LOADERS, ...(options.loaders ?? [])],
      defaultBackend: "wasm",
      runtimeFor: browserRuntimes(options),
    });
    const cobra = new Cobra(parts, settings, decodeImageBrowser, manifest);
    cobra.backend = describeBackends(backends);
    return cobra;
  }

  /** Composes any implementations of the four contracts (settings default to the released Cobra's). */
  static fromParts(parts: CobraParts, settings: Partial<CobraSettings> = {}): Cobra {
    return new Cobra(parts, settings, decodeImageBrowser);
  }
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && (await gpu.requestAdapter().catch(() => null)) !== null;
}
