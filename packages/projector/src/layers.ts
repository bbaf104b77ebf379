import { ConfigError, InvalidArgumentError } from "@cobra-ts/core";
import { isProjectorVariant, PROJECTOR_VARIANTS, type ProjectorVariant } from "./variants.js";

/** Patch tokens per image in Cobra: a 27x27 grid (384 px, patch 14). */
export const COBRA_NUM_PATCHES = 729;
/** `TokenDownLayer((14, 14))` in the LDP projectors. */
export const LDP_POOLED_GRID = 14;

export interface ProjectorDims {
  /** D: the fused vision feature size (1024 + 1152 = 2176 for DINOv2 + SigLIP). */
  visionDim: number;
  /** d_model of the LM (2560 for Mamba-2.8B). */
  llmDim: number;
  /** Patch tokens per image; 729 unless given. The LDP variants need a square number. */
  numPatches?: number;
}

/** One module of the official `nn.Sequential`, with the state-dict key prefix of its parameters. */
export type ProjectorLayer =
  | { kind: "linear"; key: string; inFeatures: number; outFeatures: number }
  | { kind: "gelu" }
  /** AdaptiveAvgPool2d over the sqrt(N) x sqrt(N) patch grid down to grid x grid (TokenDownLayer). */
  | { kind: "token-down"; grid: number }
  /** Depthwise 3x3 conv (stride 1, zero pad 1) plus its input (PosInjectLayer, the PEG of Twins). */
  | { kind: "pos-inject"; key: string; channels: number };

export interface ExpectedTensor {
  key: string;
  shape: number[];
}

/** The layers of a variant, in the order of the official `self.projector = nn.Sequential(...)`. */
export function projectorLayers(variant: ProjectorVariant, dims: ProjectorDims): ProjectorLayer[] {
  const { visionDim: D, llmDim: d } = checkDims(variant, dims);
  const linear = (key: string, inFeatures: number, outFeatures: number): ProjectorLayer => ({
    kind: "linear",
    key,
    inFeatures,
    outFeatures,
  });
  const gelu: ProjectorLayer = { kind: "gelu" };
  // The fused variants widen to 4D first (`initial_projection_dim = fused_vision_dim * 4`).
  const ldpTail: ProjectorLayer[] = [
    { kind: "token-down", grid: LDP_POOLED_GRID },
    { kind: "pos-inject", key: "projector.4.peg.0", channels: d },
  ];
  switch (variant) {
    case "linear":
      return [linear("projector", D, d)];
    case "gelu-mlp":
      return [linear("projector.0", D, d), gelu, linear("projector.2", d, d)];
    case "fused-gelu-mlp":
      return [
        linear("projector.0", D, 4 * D),
        gelu,
        linear("projector.2", 4 * D, d),
        gelu,
        linear("projector.4", d, d),
      ];
    case "ldpnet":
      return [linear("projector.0", D, d), gelu, linear("projector.2", d, d), ...ldpTail];
    case "fused-ldpnet":
      return [linear("projector.0", D, 4 * D), gelu, linear("projector.2", 4 * D, d), ...ldpTail];
  }
}

/** Every parameter a variant's state dict holds, with its shape (biases included: all layers use bias=True). */
export function expectedProjectorTensors(variant: ProjectorVariant, dims: ProjectorDims): ExpectedTensor[] {
  return projectorLayers(variant, dims).flatMap((layer): ExpectedTensor[] => {
    if (layer.kind === "linear")
      return [
        { key: `${layer.key}.weight`, shape: [layer.outFeatures, layer.inFeatures] },
        { key: `${layer.key}.bias`, shape: [layer.outFeatures] },
      ];
    if (layer.kind === "pos-inject")
      return [
        { key: `${layer.key}.weight`, shape: [layer.channels, 1, 3, 3] },
        { key: `${layer.key}.bias`, shape: [layer.channels] },
      ];
    return [];
  });
}

/** Tokens out per image: the patches, or the pooled grid for the LDP variants. */
export function projectedTokens(variant: ProjectorVariant, dims: ProjectorDims): number {
  const { numPatches } = checkDims(variant, dims);
  return variant.endsWith("ldpnet") ? LDP_POOLED_GRID * LDP_POOLED_GRID : numPatches;
}

/** Dims with the default filled in, after checking they are usable for the variant. */
export function checkDims(variant: ProjectorVariant, dims: ProjectorDims): Required<ProjectorDims> {
  if (!isProjectorVariant(variant))
    throw new ConfigError(
      `unknown projector variant "${String(variant)}"; use one of ${PROJECTOR_VARIANTS.join(", ")}`,
    );
  const full = { numPatches: COBRA_NUM_PATCHES, ...dims };
  for (const name of ["visionDim", "llmDim", "numPatches"] as const)
    if (!Number.isInteger(full[name]) || full[name] < 1)
      throw new InvalidArgumentError(`projector dims: ${name} must be a positive integer, got ${full[name]}`);
  if (variant.endsWith("ldpnet") && !Number.isInteger(Math.sqrt(full.numPatches)))
    throw new InvalidArgumentError(
      `projector dims: ${variant} pools a square patch grid, but numPatches ${full.numPatches} is not a square`,
    );
  return full;
}
