import { FusedEncoder, ImageEncoder, type PixelEncoder } from "@cobra-ts/vision-encoder";
import type { CobraManifest } from "../manifest.js";

/** The manifest's towers (one alone, or fused in the manifest's order) behind its image preprocessing. */
export function manifestImageEncoder(manifest: CobraManifest, towers: PixelEncoder[]): ImageEncoder {
  return new ImageEncoder(towers.length === 1 ? towers[0] : new FusedEncoder(towers), {
    strategy: manifest.vision.strategy,
    imageSize: manifest.vision.imageSize,
  });
}
