/**
 * Browser image decoding to RgbImage with Pillow 9.4's `Image.open(f).convert("RGB")` semantics.
 *
 * - PNG and GIF bytes go through the TypeScript decoders in codecs/: a 2D canvas stores premultiplied alpha, so
 *   reading a semi-transparent pixel back through one changes (or, at alpha 0, loses) its colour, which Pillow
 *   keeps; and browsers show transparent GIF pixels as transparent black, which Pillow does not.
 * - Four-component (CMYK / YCCK) JPEGs go through codecs/jpeg-cmyk.ts, loaded only when one is met: browsers
 *   convert CMYK to RGB with their own rounding and lose the ink values Pillow's conversion starts from.
 * - Other encoded formats (JPEG, WebP, AVIF) use the platform decoder: createImageBitmap without colour
 *   management, premultiplication or EXIF orientation, then an sRGB OffscreenCanvas. Alpha is dropped without
 *   compositing, but for semi-transparent WebP/AVIF the canvas premultiplication above still applies.
 * - Already decoded sources (ImageData, ImageBitmap, <canvas>) are read as they are. An <img> is fetched again
 *   from its URL and decoded as a file when possible (drawing it would apply EXIF orientation).
 */
import { ImageDecodeError, InvalidArgumentError } from "@cobra-ts/core";
import { decodeGifFirstFrame } from "./codecs/gif.js";
import { isFourComponentJpeg, readHeaderSize } from "./codecs/header-size.js";
import { type DecodedSamples, pilRgbFromSamples } from "./codecs/pil-convert.js";
import { decodePng } from "./codecs/png.js";
import { describeUnknownBytes, SUPPORTED_FORMATS, sniffImageFormat } from "./codecs/sniff.js";
import { checkPixelLimit, type DecodeOptions, describeBytes, resolveMaxPixels } from "./decode-options.js";
import type { RgbImage } from "./image.js";

export type BrowserImageSource =
  | Blob
  | ArrayBuffer
  | Uint8Array
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas;

/** EXIF orientation must not be applied: the reference (Pillow's open + convert) ignores it. */
const BITMAP_OPTIONS: ImageBitmapOptions = {
  colorSpaceConversion: "none",
  premultiplyAlpha: "none",
  imageOrientation: "none" as ImageOrientation,
};

/** Decodes an image in a browser (or worker) to 8-bit RGB. */
export async function decodeImageBrowser(
  source: BrowserImageSource,
  options?: DecodeOptions,
): Promise<RgbImage> {
  const maxPixels = resolveMaxPixels(options);
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    checkPixelLimit(options?.name ?? "ImageData", source.width, source.height, maxPixels);
    return dropAlpha(source.data, source.width, source.height);
  }
  if (
    source instanceof ArrayBuffer ||
    source instanceof Uint8Array ||
    (typeof Blob !== "undefined" && source instanceof Blob)
  )
    return decodeEncoded(source, options, maxPixels);
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement)
    return decodeImageElement(source, options, maxPixels);
  if (isDrawable(source)) return readDrawable(source, options?.name ?? describeDrawable(source), maxPixels);
  throw new InvalidArgumentError(
    `decodeImageBrowser: unsupported source ${Object.prototype.toString.call(source)}`,
  );
}

async function decodeEncoded(
  source: Blob | ArrayBuffer | Uint8Array,
  options: DecodeOptions | undefined,
  maxPixels: number,
): Promise<RgbImage> {
  const bytes =
    source instanceof Uint8Array
      ? source
      : new Uint8Array(source instanceof ArrayBuffer ? source : await source.arrayBuffer());
  const name =
    options?.name ?? (typeof File !== "undefined" && source instanceof File ? source.name : undefined);
  const label = describeBytes(bytes, name);
  if (bytes.length === 0) throw new ImageDecodeError(`${label}: empty file (0 bytes), not an image`);
  const format = sniffImageFormat(bytes);
  if (!format)
    throw new ImageDecodeError(
      `${label}: unsupported image format (${describeUnknownBytes(bytes)}); supported: ${SUPPORTED_FORMATS.join(", ")}`,
    );
  if (format === "png") return decodePng(bytes, label, maxPixels);
  if (format === "gif") return decodeGifFirstFrame(bytes, label, maxPixels);
  // JPEG/WebP sizes come from the header, before decoding; for AVIF/TIFF (no header reader here) the limit is
  // only checked once the browser has decoded the bitmap, before any canvas is allocated.
  const size = readHeaderSize(bytes, format);
  if (size) checkPixelLimit(label, size.width, size.height, maxPixels);
  if (format === "jpeg" && isFourComponentJpeg(bytes)) return decodeCmykJpeg(bytes, label);
  let bitmap: ImageBitmap;
  try {
    const blob = source instanceof Blob ? source : new Blob([bytes as Uint8Array<ArrayBuffer>]);
    bitmap = await createImageBitmap(blob, BITMAP_OPTIONS);
  } catch (e) {
    throw new ImageDecodeError(
      `${label}: the browser cannot decode this ${format} image (${(e as Error).message})`,
      { cause: e },
    );
  }
  try {
    return readDrawable(bitmap, label, maxPixels);
  } finally {
    bitmap.close();
  }
}

/** A CMYK / YCCK JPEG through the TypeScript decoder, then Pillow's CMYK -> RGB (as decode-node.ts does). */
async function decodeCmykJpeg(bytes: Uint8Array, label: string): Promise<RgbImage> {
  // A separate chunk for bundlers: pages that never meet a CMYK JPEG do not download the decoder.
  const { decodeJpegInks, JpegDataError } = await import("./codecs/jpeg-cmyk.js");
  let inks: DecodedSamples;
  try {
    inks = decodeJpegInks(bytes);
  } catch (e) {
    if (e instanceof JpegDataError) throw new ImageDecodeError(`${label}: ${e.message}`, { cause: e });
    throw e;
  }
  return pilRgbFromSamples(inks, label);
}

/**
 * An <img> is re-read from its source URL when the page may fetch it (same origin or CORS), so that it is
 * decoded like a file; drawing it would apply EXIF orientation and premultiply alpha.
 */
async function decodeImageElement(
  img: HTMLImageElement,
  options: DecodeOptions | undefined,
  maxPixels: number,
): Promise<RgbImage> {
  const url = img.currentSrc || img.src;
  const name = options?.name ?? url;
  let blob: Blob | undefined;
  try {
    const response = await fetch(url);
    if (response.ok) blob = await response.blob();
  } catch {
    // Not fetchable (cross-origin without CORS, revoked blob URL): fall back to the pixels as drawn.
  }
  if (blob) return decodeEncoded(blob, { ...options, name }, maxPixels);
  if (!img.complete) await img.decode().catch(() => undefined);
  return readDrawable(img, name, maxPixels);
}

type Drawable = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

function isDrawable(source: unknown): source is Drawable {
  return (
    (typeof ImageBitmap !== "undefined" && source instanceof ImageBitmap) ||
    (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) ||
    (typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement) ||
    (typeof OffscreenCanvas !== "undefined" && source instanceof OffscreenCanvas)
  );
}

function describeDrawable(source: Drawable): string {
  return typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement
    ? source.currentSrc || "<img>"
    : source.constructor.name;
}

/** Draws onto an sRGB OffscreenCanvas (no smoothing, 1:1) and reads RGBA back. */
function readDrawable(source: Drawable, label: string, maxPixels: number): RgbImage {
  const isImg = typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement;
  const width = isImg ? source.naturalWidth : source.width;
  const height = isImg ? source.naturalHeight : source.height;
  if (!width || !height)
    throw new ImageDecodeError(`${label}: image has no pixels (not loaded yet, or broken)`);
  checkPixelLimit(label, width, height, maxPixels);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { colorSpace: "srgb", willReadFrequently: true });
  if (!ctx) throw new ImageDecodeError(`${label}: no 2D canvas context available`);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0);
  const data = ctx.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data;
  return dropAlpha(data, width, height);
}

/** RGBA -> RGB by ignoring alpha (Pillow's RGBA -> RGB conversion does not composite). */
function dropAlpha(rgba: Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = rgba[i * 4];
    out[i * 3 + 1] = rgba[i * 4 + 1];
    out[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return { width, height, data: out };
}
