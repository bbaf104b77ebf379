/**
 * Node image decoding with sharp (libvips), reproducing Pillow 9.4's `Image.open(f).convert("RGB")`:
 * pixels are read in the file's own colour space and bit depth, never through sharp's colour management
 * (`ignoreIcc`, no sRGB/CMYK profile transforms, no flattening of alpha), and Pillow's conversion rules are then
 * applied by pil-convert.ts. EXIF orientation is not applied (Pillow's open/convert ignores it too).
 * Two exceptions use the TypeScript decoders in codecs/, where libvips differs from Pillow: GIFs (libvips turns
 * transparent pixels black, Pillow keeps their palette colour) and palette PNGs (libvips maps indices past the
 * palette to black, Pillow to its default grey ramp).
 */
import { readFile } from "node:fs/promises";
import {
  FileNotFoundError,
  ImageDecodeError,
  isModuleNotFound,
  MissingDependencyError,
} from "@cobra-ts/core";
import type { Metadata, OutputInfo, default as Sharp } from "sharp";
import { decodeGifFirstFrame } from "./codecs/gif.js";
import { type ColourModel, pilRgbFromSamples } from "./codecs/pil-convert.js";
import { decodePng } from "./codecs/png.js";
import {
  describeUnknownBytes,
  type ImageFormat,
  SUPPORTED_FORMATS,
  sniffImageFormat,
} from "./codecs/sniff.js";
import { checkPixelLimit, type DecodeOptions, describeBytes, resolveMaxPixels } from "./decode-options.js";
import type { RgbImage } from "./image.js";

/** libvips interpretations this decoder reads natively, and the Pillow colour model each stands for. */
const COLOUR_MODELS: Record<string, ColourModel> = {
  "b-w": "gray",
  grey16: "gray",
  srgb: "rgb",
  rgb: "rgb",
  rgb16: "rgb",
  cmyk: "cmyk",
};

/** IHDR colour type of palette PNGs (byte 25 of the file: 8 signature + 8 chunk header + 9). */
const PNG_PALETTE = 3;

/** Reads and decodes an image file. A missing file is a FileNotFoundError; everything else an ImageDecodeError. */
export async function decodeImageFile(path: string, options?: DecodeOptions): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(path, "image file");
    throw new ImageDecodeError(`${path}: cannot read the file (${code ?? String(e)})`, { cause: e });
  }
  return decodeImageBytes(bytes, { ...options, name: options?.name ?? path });
}

/** Decodes encoded image bytes (JPEG, PNG, WebP, GIF first frame, TIFF first page, AVIF) to RGB. */
export async function decodeImageBytes(bytes: Uint8Array, options?: DecodeOptions): Promise<RgbImage> {
  const source = describeBytes(bytes, options?.name);
  const maxPixels = resolveMaxPixels(options);
  if (bytes.length === 0) throw new ImageDecodeError(`${source}: empty file (0 bytes), not an image`);
  const format = sniffImageFormat(bytes);
  if (!format)
    throw new ImageDecodeError(
      `${source}: unsupported image format (${describeUnknownBytes(bytes)}); supported: ${SUPPORTED_FORMATS.join(", ")}`,
    );
  if (format === "gif") return decodeGifFirstFrame(bytes, source, maxPixels);
  if (format === "png" && bytes[25] === PNG_PALETTE) return decodePng(bytes, source, maxPixels);
  return decodeWithSharp(bytes, format, source, maxPixels);
}

/** sharp is an optional peer: imported on the first decode that needs it, so the Node entry loads without it. */
async function loadSharp(): Promise<typeof Sharp> {
  try {
    return (await import("sharp")).default;
  } catch (e) {
    if (isModuleNotFound(e, "sharp"))
      throw new MissingDependencyError("sharp", "decoding JPEG, WebP and other non-PNG/GIF images in Node", {
        cause: e,
      });
    throw e;
  }
}

async function decodeWithSharp(
  bytes: Uint8Array,
  format: ImageFormat,
  source: string,
  maxPixels: number,
): Promise<RgbImage> {
  const sharp = await loadSharp();
  // failOn "error": corrupt or truncated data fails, as Pillow's "image file is truncated" does; mere warnings
  // (e.g. stray bytes between JPEG markers) do not, as Pillow ignores them too.
  const open = (limitInputPixels: number | false) =>
    sharp(bytes, {
      ignoreIcc: true,
      failOn: "error",
      limitInputPixels,
      autoOrient: false,
      pages: 1,
      page: 0,
    });

  let meta: Metadata;
  try {
    // Header only, hence no sharp limit here: ours is checked next, with a message that names the limit.
    meta = await open(false).metadata();
  } catch (e) {
    throw new ImageDecodeError(`${source}: corrupt or unreadable ${format} file (${(e as Error).message})`, {
      cause: e,
    });
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageDecodeError(`${source}: ${format} header has no usable size`);
  checkPixelLimit(source, width, height, maxPixels);

  const space = meta.space ?? "";
  const model = COLOUR_MODELS[space];
  const depth = meta.depth;
  if (!model || (depth !== "uchar" && depth !== "ushort"))
    throw new ImageDecodeError(
      `${source}: unsupported ${format} pixel format (colour space ${space}, sample type ${depth})`,
    );

  let raw: { data: Buffer; info: OutputInfo };
  try {
    // Pipeline and output in the file's own colour space: no conversion, no profile, alpha kept as a channel.
    raw = await open(Number.isFinite(maxPixels) ? maxPixels : false)
      .pipelineColourspace(space)
      .toColourspace(space)
      .raw({ depth })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageDecodeError(`${source}: corrupt or truncated ${format} data (${(e as Error).message})`, {
      cause: e,
    });
  }
  const { data, info } = raw;
  if (info.width !== width || info.height !== height)
    throw new ImageDecodeError(
      `${source}: decoded size ${info.width}x${info.height} differs from the header's ${width}x${height}`,
    );
  // Copy into a fresh buffer: Buffer slices can sit at odd offsets of a shared pool (Uint16Array needs alignment).
  const own = new Uint8Array(data.length);
  own.set(data);
  const samples = depth === "ushort" ? new Uint16Array(own.buffer) : own;
  return pilRgbFromSamples({ width, height, model, channels: info.channels, samples }, source);
}
