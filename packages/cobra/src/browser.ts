/**
 * Browser entry: Cobra on onnxruntime-web (WASM, or WebGPU where the browser has an adapter). Load a
 * converted model folder from a URL or from files the user picked; everything else is the Node API.
 */
import { type Backend, InvalidArgumentError, useOrt } from "@cobra-ts/core";
import { MambaLM, MambaTokenizer } from "@cobra-ts/mamba-lm";
import { OnnxProjector } from "@cobra-ts/projector";
import {
  type BrowserImageSource,
  decodeImageBrowser,
  FusedEncoder,
  ImageEncoder,
  type VitConfig,
  VitEncoder,
} from "@cobra-ts/vision-encoder/browser";
import { type CobraManifest, MANIFEST_FILE, parseManifest } from "./manifest.js";
import { CobraEngine, type CobraParts, type CobraSettings } from "./runtime/cobra.js";
import { type FileProgress, type ModelSource, readModelFile } from "./runtime/fetch-files.js";
import { checkFileSizes } from "./runtime/verify-files.js";

export * from "./manifest.js";
export * from "./prompt/index.js";
export * from "./runtime/cobra.js";
export * from "./runtime/request.js";
export type { FileProgress, ModelSource };

export interface BrowserLoadOptions {
  backend?: Extract<Backend, "wasm" | "webgpu">;
  onProgress?: (p: FileProgress) => void;
  /** Used for every file when the source is a URL (e.g. a fetch that caches in the Cache API). */
  fetch?: typeof fetch;
  /** Where onnxruntime-web's .wasm/.mjs files are served. */
  wasmPaths?: string;
  /** WASM threads (needs a cross-origin isolated page); onnxruntime's default otherwise. */
  threads?: number;
  signal?: AbortSignal;
  parts?: Partial<CobraParts>;
}

async function configureOrt(options: BrowserLoadOptions) {
  const ort =
    options.backend === "webgpu" ? await import("onnxruntime-web/webgpu") : await import("onnxruntime-web");
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.threads) ort.env.wasm.numThreads = options.threads;
  useOrt(ort as never);
}

export class Cobra extends CobraEngine<BrowserImageSource> {
  /** The onnxruntime-web backend in use. */
  backend: "wasm" | "webgpu" = "wasm";

  static async load(source: ModelSource, options: BrowserLoadOptions = {}): Promise<Cobra> {
    const backend = options.backend ?? "wasm";
    if (backend !== "wasm" && backend !== "webgpu")
      throw new InvalidArgumentError(`backend must be "wasm" or "webgpu", got "${backend}"`);
    if (backend === "webgpu" && !(await hasWebGpuAdapter()))
      throw new InvalidArgumentError("this browser has no WebGPU adapter: use the wasm backend");
    await configureOrt(options);
    const read = (path: string) => readModelFile(source, path, options);
    const manifest = parseManifest(new TextDecoder().decode(await read(MANIFEST_FILE)), MANIFEST_FILE);
    if (typeof source !== "string")
      await checkFileSizes(manifest.files, async (p) => source.get(p)?.size ?? null, MANIFEST_FILE);
    const files = new Map<string, Uint8Array>();
    for (const f of manifest.files) files.set(f.path, await read(f.path));
    if (typeof source === "string")
      await checkFileSizes(manifest.files, async (p) => files.get(p)?.length ?? null, MANIFEST_FILE);
    const parts = await createParts(manifest, files, backend, options.parts ?? {});
    const settings = { llmBackboneId: manifest.llmBackboneId, maxPromptLength: manifest.lm.maxLength };
    const cobra = new Cobra(parts, settings, decodeImageBrowser, manifest);
    cobra.backend = backend;
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
  backend: "wasm" | "webgpu",
  given: Partial<CobraParts>,
): Promise<CobraParts> {
  const session = { backend };
  let encoder = given.encoder;
  if (!encoder) {
    const encoders = [];
    for (const e of manifest.vision.encoders) {
      const { model, externalData } = graphWithData(manifest, files, e.graph);
      encoders.push(
        await VitEncoder.create(model, e.config as unknown as VitConfig, e.name, {
          ...session,
          externalData,
        }),
      );
    }
    encoder = new ImageEncoder(encoders.length === 1 ? encoders[0] : new FusedEncoder(encoders), {
      strategy: manifest.vision.strategy,
      imageSize: manifest.vision.imageSize,
    });
  }
  const p = graphWithData(manifest, files, manifest.projector.graph);
  const projector =
    given.projector ?? (await OnnxProjector.load(p.model, { ...session, externalData: p.externalData }));
  const lm = given.lm ?? (await MambaLM.load(graphWithData(manifest, files, manifest.lm.graph), session));
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
