import type { FloatTensor } from "@cobra-ts/core";

/** What one backbone needs of its input pixels; the image preprocessing (resize, crop) produces them. */
export interface PixelSpec {
  /** The backbone these pixels feed, e.g. "dino" or "siglip". */
  name: string;
  /** Square side, in pixels, of the tensor the graph takes. */
  imageSize: number;
  /** Per RGB channel: pixels are (value / 255 - mean) / std, in float32. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Resampling the backbone was trained with (Cobra resizes with PIL bicubic for both). */
  interpolation: "bicubic" | "bilinear";
}

/** Float32 [batch, numPatches, featureDim], row-major. */
export type EncodedFeatures = FloatTensor;

/**
 * Normalized pixels -> patch features. Single backbones and the fused DINO+SigLIP encoder share this
 * interface; an ImageEncoder puts the preprocessing in front of one (the `VisionEncoder` contract).
 */
export interface PixelEncoder {
  /** One entry per pixel tensor `encode` takes, in order. */
  readonly inputs: readonly PixelSpec[];
  readonly numPatches: number;
  readonly featureDim: number;
  /**
   * One float32 [batch, 3, S, S] (CHW, row-major) tensor per entry of `inputs`, all with the same batch.
   * Returns the features of every image of the batch.
   */
  encode(pixels: readonly Float32Array[]): Promise<EncodedFeatures>;
  /** A fused encoder's features per part, in order (what `encode` concatenates), with each part's name. */
  encodeParts?(pixels: readonly Float32Array[]): Promise<{ name: string; features: EncodedFeatures }[]>;
  /** Frees the runtime sessions. */
  release(): Promise<void>;
}
