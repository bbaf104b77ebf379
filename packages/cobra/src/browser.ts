/**
 * Browser entry: Cobra on onnxruntime-web (WASM, or WebGPU where the browser has an adapter), one backend for
 * the whole model or one per part. Load a converted model folder from a URL or from files the user picked;
 * everything else is the Node API.
 */
import { type Backend, InvalidArgumentError, type OrtModule, ortFor } from "@cobra-ts/core";
import { MambaLM, MambaTokenizer } from "@cobra-ts/mamba-lm";
import { OnnxProjector } from "@cobra-ts/projector";
import {
  type BrowserImageSource,
  decodeImageBrowser,
  type VitConfig,
  VitEncoder,
} from "@cobra-ts/vision-encoder/browser";
import { type CobraManifest, MANIFEST_FILE, parseManifest } from "./manifest.js";
import {
  type BackendChoice,
  RUNTIME_PARTS,
  type RuntimePart,
  resolvePartBackends,
} from "./runtime/backends.js";
import { CobraEngine, type CobraParts, type CobraSettings } from "./runtime/cobra.js";
import { type FileProgress, type ModelSource, readModelFile } from "./runtime/fetch-files.js";
import { manifestImageEncoder } from "./runtime/manifest-encoder.js";
import { checkFileSizes } from "./runtime/verify-files.js";

export * from "./manifest.js";
export * from "./prompt/index.js";
export type { BackendChoice, PartBackends, RuntimePart } from "./runtime/backends.js";
export * from "./runtime/cobra.js";
export * from "./runtime/request.js";
export type { FileProgress, ModelSource };

export interface BrowserLoadOptions {
  /**
   * "wasm" (the default) or "webgpu" for every part, or one per part: `{ vision: "webgpu", lm: "wasm" }` (an
   * absent part runs on wasm).
   */
  backend?: BackendChoice;
  onProgress?: (p: FileProgress) => void;
  /** Used for every file when the source is a URL (e.g. a fetch that caches in the Cache API). */
  fetch?: typeof fetch;
  /** Where onnxruntime-web's .wasm/.mjs files are served: set on the env of every onnxruntime-web module used. */
  wasmPaths?: string;
  /** WASM threads (needs a cross-origin isolated page); onnxruntime's default otherwise. Per module, like wasmPaths. */
  threads?: number;
  signal?: AbortSignal;
  parts?: Partial<CobraParts>;
}

type PartRuntimes = Record<RuntimePart, { backend: Backend; ort: OrtModule }>;

/**
 * The onnxruntime-web module of each part's backend (onnxruntime-web for wasm, onnxruntime-web/webgpu for
 * webgpu), with wasmPaths/threads set on each module's own env, once per module.
 */
async function partRuntimes(options: BrowserLoadOptions): Promise<PartRuntimes> {
  const backends = resolvePartBackends(options.backend, "wasm");
  const runtimes = {} as PartRuntimes;
  const configured = new Set<OrtModule>();
  for (const part of RUNTIME_PARTS) {
    const backend = backends[part];
    if (backend === "cpu")
      throw new InvalidArgumentError(
        `backend.${part}: "cpu" is onnxruntime-node, which only runs in Node; use "wasm" or "webgpu" in a browser`,
      );
    const ort = await ortFor({ backend });
    if (!configured.has(ort)) {
      if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
      if (options.threads) ort.env.wasm.numThreads = options.threads;
      configured.add(ort);
    }
    runtimes[part] = { backend, ort };
  }
  return runtimes;
}

/** "wasm" when every part runs there; else each part's, e.g. "vision webgpu, projector webgpu, lm wasm". */
function describeBackends(runtimes: PartRuntimes): string {
  const names = RUNTIME_PARTS.map((p) => runtimes[p].backend);
  return names.every((b) => b === names[0])
    ? names[0]
    : RUNTIME_PARTS.map((p) => `${p} ${runtimes[p].backend}`).join(", ");
}

export class Cobra extends CobraEngine<BrowserImageSource> {
  /** Where the model runs: one backend name, or each part's when they differ. */
  backend = "wasm";

  static async load(source: ModelSource, options: BrowserLoadOptions = {}): Promise<Cobra> {
    const runtimes = await partRuntimes(options);
    if (RUNTIME_PARTS.some((p) => runtimes[p].backend === "webgpu") && !(await hasWebGpuAdapter()))
      throw new InvalidArgumentError("this browser has no WebGPU adapter: use the wasm backend");
    const read = (path: string) => readModelFile(source, path, options);
    const manifest = parseManifest(new TextDecoder().decode(await read(MANIFEST_FILE)), MANIFEST_FILE);
    if (typeof source !== "string")
      await checkFileSizes(manifest.files, async (p) => source.get(p)?.size ?? null, MANIFEST_FILE);
    const files = new Map<string, Uint8Array>();
    for (const f of manifest.files) files.set(f.path, await read(f.path));
    if (typeof source === "string")
      await checkFileSizes(manifest.files, async (p) => files.get(p)?.length ?? null, MANIFEST_FILE);
    const parts = await createParts(manifest, files, runtimes, options.parts ?? {});
    const settings = { llmBackboneId: manifest.llmBackboneId, maxPromptLength: manifest.lm.maxLength };
    const cobra = new Cobra(parts, settings, decodeImageBrowser, manifest);
    cobra.backend = describeBackends(runtimes);
    return cobra;
  }

  /** Composes any implementations of the four contracts (settings default to the released Cobra's). */
  static fromParts(parts: CobraParts, settings: Partial<CobraSettings> = {}): Cobra {
    return new Cobra(parts, settings, decodeImageBrowser);
  }
}

/** The graph's bytes plus its external data files, as onnxruntime-web takes them. */
function graphWithData(manifest: CobraManifest, files: Map<string, Uint8Array>, graph: string) {
  const externalData = manifest.files
    .filter((f) => f.path.startsWith(`${graph}.data`))
    .map((f) => ({ path: f.path, data: files.get(f.path)! }));
  return { model: files.get(graph)!, externalData };
}

async function createParts(
  manifest: CobraManifest,
  files: Map<string, Uint8Array>,
  runtimes: PartRuntimes,
  given: Partial<CobraParts>,
): Promise<CobraParts> {
  let encoder = given.encoder;
  if (!encoder) {
    const encoders = [];
    for (const e of manifest.vision.encoders) {
      const { model, externalData } = graphWithData(manifest, files, e.graph);
      encoders.push(
        await VitEncoder.create(model, e.config as unknown as VitConfig, e.name, {
          ...runtimes.vision,
          externalData,
        }),
      );
    }
    encoder = manifestImageEncoder(manifest, encoders);
  }
  const p = graphWithData(manifest, files, manifest.projector.graph);
  const projector =
    given.projector ??
    (await OnnxProjector.load(p.model, { ...runtimes.projector, externalData: p.externalData }));
  const lm = given.lm ?? (await MambaLM.load(graphWithData(manifest, files, manifest.lm.graph), runtimes.lm));
  const text = (path: string) => new TextDecoder().decode(files.get(path)!);
  const tokenizer =
    given.tokenizer ??
    MambaTokenizer.fromJSON(
      text(manifest.lm.tokenizer),
      manifest.lm.tokenizerConfig ? text(manifest.lm.tokenizerConfig) : undefined,
    );
  return { encoder, projector, lm, tokenizer };
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  return !!gpu && (await gpu.requestAdapter().catch(() => null)) !== null;
}
