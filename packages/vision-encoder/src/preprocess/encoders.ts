/** Per-encoder constants of Cobra's DINOv2 and SigLIP towers (timm pretrained_cfg of the released models). */
import type { Triple } from "./normalize.js";

export type EncoderKind = "dino" | "siglip";

export interface EncoderNormalization {
  mean: Triple;
  std: Triple;
  /** Letterbox fill: `tuple(int(x * 255) for x in mean)` in Cobra's dinosiglip_vit.py. */
  letterboxFill: Triple;
}

/** An encoder by name (Cobra's towers) or by its own statistics (any timm data config). */
export type EncoderSpec = EncoderKind | { mean: Triple; std: Triple };

export function normalization(mean: Triple, std: Triple): EncoderNormalization {
  const fill = mean.map((m) => Math.trunc(m * 255)) as unknown as Triple;
  return { mean, std, letterboxFill: fill };
}

export const ENCODER_NORMALIZATION: Readonly<Record<EncoderKind, EncoderNormalization>> = {
  /** ImageNet statistics; fill (123, 116, 103). */
  dino: normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
  /** fill (127, 127, 127). */
  siglip: normalization([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
};

export function normalizationOf(encoder: EncoderSpec): EncoderNormalization {
  return typeof encoder === "string"
    ? ENCODER_NORMALIZATION[encoder]
    : normalization(encoder.mean, encoder.std);
}

/** Cobra's image size for the released dinosiglip-vit-so-384px backbone. */
export const COBRA_IMAGE_SIZE = 384;
