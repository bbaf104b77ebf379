import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  defaultBackend,
  FileNotFoundError,
  ImageDecodeError,
  InvalidArgumentError,
  ModelFormatError,
} from "@cobra-ts/core";
import { nodeSessionOptions } from "@cobra-ts/core/node";
import { loadMambaTokenizer, MambaLM } from "@cobra-ts/mamba-lm/node";
import { OnnxProjector } from "@cobra-ts/projector";
import {
  type DecodeOptions,
  decodeImageBytes,
  decodeImageFile,
  type RgbImage,
  type VitConfig,
  VitEncoder,
} from "@cobra-ts/vision-encoder/node";
import { type CobraManifest, MANIFEST_FILE, parseManifest } from "../manifest.js";
import { type BackendChoice, resolvePartBackends } from "./backends.js";
import { CobraEngine, type CobraParts, type CobraSettings } from "./cobra.js";
import { manifestImageEncoder } from "./manifest-encoder.js";
import { checkFileSizes } from "./verify-files.js";
import { assertModelFiles } from "./verify-node.js";

/** An image as Node callers have it: a file path, an http(s) URL, encoded bytes, or decoded RGB. */
export type NodeImage = string | URL | Uint8Array | RgbImage;

export interface LoadProgress {
  /** The part being loaded ("dino", "siglip", "projector", "lm", "tokenizer"). */
  part: string;
  done: number;
  total: number;
}

export interface NodeLoadOptions {
  /**
   * "cpu" (onnxruntime-node, the default), "wasm" (onnxruntime-web) or "webgpu" for every part, or one per
   * part: `{ vision: "wasm", lm: "cpu" }` (an absent part runs on cpu).
   */
  backend?: BackendChoice;
  threads?: number;
  /** Also check every file's sha256 against the manifest (reads every byte: slow for big models). */
  verify?: boolean;
  /** Largest width * height an image may have; default DEFAULT_MAX_PIXELS (Pillow's decompression-bomb limit). */
  maxPixels?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Replace any part with your own implementation (ablations): the rest is loaded from the folder. */
  parts?: Partial<CobraParts>;
}

export async function readManifest(dir: string): Promise<CobraManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new FileNotFoundError(path, "model manifest (is this a folder written by `cobra convert`?)");
    if (code === "ENOTDIR")
      throw new InvalidArgumentError(`${dir} is a file; give the folder written by \`cobra convert\``);
    throw new ModelFormatError(`${path}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
  return parseManifest(text, path);
}

/** Loads a converted model folder: the manifest and its files are checked before any graph is opened. */
export async function loadNodeParts(
  dir: string,
  options: NodeLoadOptions = {},
): Promise<{ manifest: CobraManifest; parts: CobraParts }> {
  const manifest = await readManifest(dir);
  const where = join(dir, MANIFEST_FILE);
  if (options.verify) await assertModelFiles(dir, manifest);
  else
    await checkFileSizes(
      manifest.files,
      async (p) => (await stat(join(dir, p)).catch(() => null))?.size ?? null,
      where,
    );
  const backends = resolvePartBackends(options.backend, defaultBackend());
  const { threads } = options;
  // A graph path on wasm also needs its external data files named (onnxruntime-web does not look for them).
  const sessionFor = (part: "vision" | "projector", graph: string) =>
    nodeSessionOptions(graph, { backend: backends[part], threads });
  const given = options.parts ?? {};
  const total = manifest.vision.encoders.length + 3;
  let done = 0;
  const step = (part: string) => options.onProgress?.({ part, done: ++done, total });
  const encoders = [];
  if (!given.encoder)
    for (const e of manifest.vision.encoders) {
      const graph = join(dir, e.graph);
      encoders.push(
        await VitEncoder.create(
          graph,
          e.config as unknown as VitConfig,
          e.name,
          await sessionFor("vision", graph),
        ),
      );
      step(e.name);
    }
  const encoder = given.encoder ?? manifestImageEncoder(manifest, encoders);
  const projectorGraph = join(dir, manifest.projector.graph);
  const projector =
    given.projector ??
    (await OnnxProjector.load(projectorGraph, await sessionFor("projector", projectorGraph)));
  step("projector");
  const lm = given.lm ?? (await MambaLM.load(dir, { backend: backends.lm, threads }));
  step("lm");
  const tokenizer = given.tokenizer ?? (await loadMambaTokenizer(dir));
  step("tokenizer");
  return { manifest, parts: { encoder, projector, lm, tokenizer } };
}

/** Decodes a Node image input (never applies EXIF orientation: the reference does not). */
export async function decodeNodeImage(image: NodeImage, options: DecodeOptions = {}): Promise<RgbImage> {
  if (image instanceof URL || (typeof image === "string" && /^https?:\/\//i.test(image))) {
    const res = await fetch(image).catch((e) => {
      throw new ImageDecodeError(`cannot fetch image ${String(image)}: ${(e as Error).message}`);
    });
    if (!res.ok) throw new ImageDecodeError(`cannot fetch image ${String(image)}: HTTP ${res.status}`);
    return decodeImageBytes(new Uint8Array(await res.arrayBuffer()), { name: String(image), ...options });
  }
  if (typeof image === "string") return decodeImageFile(image, options);
  if (image instanceof Uint8Array) return decodeImageBytes(image, options);
  if (image && typeof image === "object" && "data" in image && "width" in image) return image;
  throw new ImageDecodeError("image must be a file path, an http(s) URL, bytes, or a decoded RgbImage");
}

/** The composer's settings a converted model's manifest gives. */
export function settingsOf(manifest: CobraManifest): CobraSettings {
  return { llmBackboneId: manifest.llmBackboneId, maxPromptLength: manifest.lm.maxLength };
}

/** Cobra in Node: `await Cobra.load(dir)` or `Cobra.fromParts(parts)`, then generate / stream / look. */
export class Cobra extends CobraEngine<NodeImage> {
  static async load(dir: string, options: NodeLoadOptions = {}): Promise<Cobra> {
    const { manifest, parts } = await loadNodeParts(dir, options);
    return new Cobra(
      parts,
      settingsOf(manifest),
      (image) => decodeNodeImage(image, { maxPixels: options.maxPixels }),
      manifest,
    );
  }

  /** Composes any implementations of the four contracts (settings default to the released Cobra's). */
  static fromParts(parts: CobraParts, settings: Partial<CobraSettings> = {}): Cobra {
    return new Cobra(parts, settings, decodeNodeImage);
  }
}
