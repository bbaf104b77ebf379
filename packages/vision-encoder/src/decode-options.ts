import { ImageDecodeError, InvalidArgumentError } from "@cobra-ts/core";

/**
 * Decompression-bomb guard: Pillow 9.4 raises DecompressionBombError above 2 * Image.MAX_IMAGE_PIXELS
 * (2 * 89,478,485) pixels; the same default limit applies here.
 */
export const DEFAULT_MAX_PIXELS = 2 * 89_478_485;

export interface DecodeOptions {
  /** Largest width * height accepted, checked from the header before any pixel is decoded. */
  maxPixels?: number;
  /** How errors name the input (a path, a URL); decodeImageFile uses the path. */
  name?: string;
}

export function resolveMaxPixels(options: DecodeOptions | undefined): number {
  const max = options?.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(max >= 1) || (Number.isFinite(max) && !Number.isInteger(max)))
    throw new InvalidArgumentError(`maxPixels must be a positive integer or Infinity, got ${max}`);
  return max;
}

/** Throws ImageDecodeError naming `source` when width * height exceeds the limit. */
export function checkPixelLimit(source: string, width: number, height: number, maxPixels: number): void {
  const pixels = width * height;
  if (pixels > maxPixels)
    throw new ImageDecodeError(
      `${source}: image size ${width}x${height} (${pixels} pixels) exceeds the limit of ${maxPixels} pixels ` +
        "(a decompression-bomb guard): if the image is trusted, raise the limit with --max-pixels " +
        "(cobra CLI) or the maxPixels option (decode functions, Cobra.load)",
    );
}

/** The name errors use for an input without a path. */
export function describeBytes(bytes: Uint8Array, name?: string): string {
  return name ?? `<image of ${bytes.length} bytes>`;
}
