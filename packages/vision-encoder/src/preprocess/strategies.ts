/**
 * Cobra's three `image_resize_strategy` values (cobra/models/backbones/vision/dinosiglip_vit.py), per encoder:
 * - "resize-naive" (the released model): Resize((size, size)) ignoring the aspect ratio, CenterCrop (no-op);
 * - "resize-crop": timm's eval transform with crop_pct 1.0: Resize(size) on the short side, CenterCrop(size);
 * - "letterbox": LetterboxPad(fill = int(mean * 255)) then the resize-crop transform.
 * All resizes are PIL BICUBIC; then ToTensor + Normalize with the encoder's mean/std.
 */
import { InvalidArgumentError, type Tensor } from "@cobra-ts/core";
import { assertRgbImage, type RgbImage } from "../image.js";
import { COBRA_IMAGE_SIZE, ENCODER_NORMALIZATION, type EncoderSpec, normalizationOf } from "./encoders.js";
import { centerCrop, letterboxPad, resizeShortSide } from "./geometry.js";
import { toChwU8, toNormalizedChw } from "./normalize.js";
import { resizeBicubicPil } from "./pil-resample.js";

export const RESIZE_STRATEGIES = ["resize-naive", "resize-crop", "letterbox"] as const;
export type ResizeStrategy = (typeof RESIZE_STRATEGIES)[number];

export interface PreprocessOptions {
  strategy: ResizeStrategy;
  encoder: EncoderSpec;
  /** Square side the encoder sees; 384 for Cobra. */
  size?: number;
}

export interface PreprocessedImage {
  encoder: EncoderSpec;
  /** uint8 [1, 3, size, size]: the image after resize/crop, before ToTensor (the fixtures' `pixels/<image>/<enc>`). */
  pixels: Tensor<Uint8Array>;
  /** float32 [1, 3, size, size]: `(pixels / 255 - mean) / std`, the encoder's input. */
  normalized: Tensor<Float32Array>;
}

/** The resized and cropped RGB image an encoder sees (size x size). */
export function resizeForEncoder(
  image: RgbImage,
  strategy: ResizeStrategy,
  encoder: EncoderSpec,
  size = COBRA_IMAGE_SIZE,
): RgbImage {
  assertRgbImage(image);
  assertStrategy(strategy);
  assertEncoder(encoder);
  switch (strategy) {
    case "resize-naive":
      return centerCrop(resizeBicubicPil(image, size, size), size);
    case "resize-crop":
      return centerCrop(resizeShortSide(image, size), size);
    case "letterbox":
      return centerCrop(
        resizeShortSide(letterboxPad(image, normalizationOf(encoder).letterboxFill), size),
        size,
      );
  }
}

/** Tensors of an already resized image for one encoder. */
export function encoderTensors(resized: RgbImage, encoder: EncoderSpec): PreprocessedImage {
  const { mean, std } = normalizationOf(encoder);
  const shape = [1, 3, resized.height, resized.width];
  return {
    encoder,
    pixels: { dtype: "U8", shape, data: toChwU8(resized) },
    normalized: { dtype: "F32", shape: [...shape], data: toNormalizedChw(resized, mean, std) },
  };
}

/** One encoder's input for `image` under a Cobra resize strategy. */
export function preprocess(image: RgbImage, options: PreprocessOptions): PreprocessedImage {
  const size = options.size ?? COBRA_IMAGE_SIZE;
  return encoderTensors(resizeForEncoder(image, options.strategy, options.encoder, size), options.encoder);
}

/**
 * Both inputs of the fused DINOv2 + SigLIP backbone. Only letterbox differs in geometry between the two
 * (its fill colour), so the other strategies resize once.
 */
export function preprocessDinoSiglip(
  image: RgbImage,
  options: { strategy: ResizeStrategy; size?: number },
): { dino: PreprocessedImage; siglip: PreprocessedImage } {
  const size = options.size ?? COBRA_IMAGE_SIZE;
  const dinoImage = resizeForEncoder(image, options.strategy, "dino", size);
  const siglipImage =
    options.strategy === "letterbox" ? resizeForEncoder(image, options.strategy, "siglip", size) : dinoImage;
  return { dino: encoderTensors(dinoImage, "dino"), siglip: encoderTensors(siglipImage, "siglip") };
}

function assertStrategy(strategy: string): asserts strategy is ResizeStrategy {
  if (!(RESIZE_STRATEGIES as readonly string[]).includes(strategy))
    throw new InvalidArgumentError(
      `unknown image resize strategy "${strategy}"; expected one of ${RESIZE_STRATEGIES.join(", ")}`,
    );
}

function assertEncoder(encoder: EncoderSpec): void {
  if (
    typeof encoder === "string"
      ? !Object.hasOwn(ENCODER_NORMALIZATION, encoder)
      : !isTriple(encoder?.mean) || !isTriple(encoder?.std)
  )
    throw new InvalidArgumentError(
      `unknown encoder ${JSON.stringify(encoder)}; expected "dino", "siglip" or { mean, std } (three numbers each)`,
    );
}

function isTriple(v: unknown): boolean {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
}
