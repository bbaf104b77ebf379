import { type AnyPartLoader, defaultBackend, ImageDecodeError, type ScanForm } from "@cobra-ts/core";
import { mambaLmLoaders } from "@cobra-ts/mamba-lm/node";
import { projectorLoaders } from "@cobra-ts/projector";
import {
  type DecodeOptions,
  decodeImageBytes,
  decodeImageFile,
  type ResizeStrategy,
  type RgbImage,
  visionEncoderLoaders,
} from "@cobra-ts/vision-encoder/node";
import type { CobraManifest } from "../manifest.js";
import type { BackendChoice } from "./backends.js";
import { CobraEngine, type CobraParts, type CobraSettings } from "./cobra.js";
import { type LoadedModel, loadModelParts, type PartProgress, readManifestFrom } from "./load-parts.js";
import { nodeReader } from "./node-reader.js";
import { withResizeStrategy } from "./resize-strategy.js";

/** An image as Node callers have it: a file path, an http(s) URL, encoded bytes, or decoded RGB. */
export type NodeImage = string | URL | Uint8Array | RgbImage;

export type LoadProgress = PartProgress;

/** The part loaders Node registers: every kind this project's packages implement (graphs opened by path). */
export const NODE_PART_LOADERS: readonly AnyPartLoader[] = [
  ...visionEncoderLoaders,
  ...projectorLoaders,
  ...mambaLmLoaders,
];

export interface NodeLoadOptions {
  /**
   * "cpu" (onnxruntime-node, the default), "wasm" (onnxruntime-web) or "webgpu" for every part, or one per
   * part: `{ vision: "wasm", lm: "cpu" }` (an absent part runs on the backend cobra.json records, else cpu).
   */
  backend?: BackendChoice;
  threads?: number;
  /**
   * Where the LM's selective scans run: "graph" (inside its onnxruntime graph) or "kernel" (the @cobra-ts/scan
   * WebAssembly SIMD kernel between graph segments); default what cobra.json's lm part says ("graph").
   */
  scan?: ScanForm;
  /** Also check every file's sha256 against the manifest (reads every byte: slow for big models). */
  verify?: boolean;
  /** Largest width * height an image may have; default DEFAULT_MAX_PIXELS (Pillow's decompression-bomb limit). */
  maxPixels?: number;
  onProgress?: (p: LoadProgress) => void;
  /**
   * Prepare images with this image_resize_strategy instead of the one the vision part was converted with (an
   * ablation; the released model was trained with "resize-naive").
   */
  resizeStrategy?: ResizeStrategy;
  /** Replace any part with your own implementation (ablations): the rest is loaded from the folder. */
  parts?: Partial<CobraParts>;
  /** Loaders for part kinds of your own (they replace a built-in loader of the same slot and kind). */
  loaders?: readonly AnyPartLoader[];
  signal?: AbortSignal;
}

/** Reads and checks a model folder's cobra.json. */
export async function readManifest(dir: string): Promise<CobraManifest> {
  return readManifestFrom(nodeReader(dir));
}

/** Loads a model folder: the manifest and its files are checked before any graph is opened. */
export async function loadNodeParts(dir: string, options: NodeLoadOptions = {}): Promise<LoadedModel> {
  const { threads } = options;
  return loadModelParts(nodeReader(dir), {
    ...options,
    loaders: [...NODE_PART_LOADERS, ...(options.loaders ?? [])],
    defaultBackend: defaultBackend(),
    runtimeFor: async (_part, backend) => ({ backend, threads }),
  });
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

/** Cobra in Node: `await Cobra.load(dir)` or `Cobra.fromParts(parts)`, then generate / stream / look. */
export class Cobra extends CobraEngine<NodeImage> {
  static async load(dir: string, options: NodeLoadOptions = {}): Promise<Cobra> {
    const { manifest, parts, settings } = await loadNodeParts(dir, options);
    if (options.resizeStrategy) {
      try {
        parts.encoder = withResizeStrategy(parts.encoder, options.resizeStrategy);
      } catch (e) {
        await Promise.all([parts.encoder.release?.(), parts.projector.release?.(), parts.lm.release?.()]);
        throw e;
      }
    }
    return new Cobra(
      parts,
      settings,
      (image) => decodeNodeImage(image, { maxPixels: options.maxPixels }),
      manifest,
    );
  }

  /** Composes any implementations of the four contracts (settings default to the released Cobra's). */
  static fromParts(parts: CobraParts, settings: Partial<CobraSettings> = {}): Cobra {
    return new Cobra(parts, settings, decodeNodeImage);
  }
}
