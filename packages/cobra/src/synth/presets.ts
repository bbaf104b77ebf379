import { InvalidArgumentError } from "@cobra-ts/core";
import type { MambaConfigInput } from "@cobra-ts/mamba-lm";

/** GPT-NeoX's vocabulary as every released Mamba states it (padded to 50280 rows). */
const NEOX_VOCAB = 50277;

/** A vision tower as a timm architecture name, optionally shrunk with model_args (test presets). */
export interface TowerPreset {
  name: "dino" | "siglip";
  architecture: string;
  modelArgs?: Record<string, unknown>;
}

export interface LmPreset {
  kind: "lm";
  description: string;
  lm: MambaConfigInput;
}

export interface CobraPreset {
  kind: "cobra";
  description: string;
  lm: MambaConfigInput;
  towers: TowerPreset[];
  imageSize: number;
  archSpecifier: string;
  llmBackboneId: string;
  /** Cobra's llm_max_length: the longest prompt. */
  llmMaxLength: number;
  modelId: string;
}

export type SynthPreset = LmPreset | CobraPreset;

const mamba = (dModel: number, nLayer: number): MambaConfigInput => ({
  dModel,
  nLayer,
  vocabSize: NEOX_VOCAB,
});

const lm = (name: string, dModel: number, nLayer: number): [string, LmPreset] => [
  name,
  { kind: "lm", description: `${name}: d_model ${dModel}, ${nLayer} layers`, lm: mamba(dModel, nLayer) },
];

/** The released Cobra-3.5B (REFERENCE.md): DINOv2-L/14-reg4 + SigLIP-SO400M/14 at 384 px, Mamba-2.8B. */
const COBRA_3_5B: CobraPreset = {
  kind: "cobra",
  description: "cobra-3.5b: DINOv2-L + SigLIP-SO400M at 384 px, fused-gelu-mlp projector, mamba-2.8b",
  lm: mamba(2560, 64),
  towers: [
    { name: "dino", architecture: "vit_large_patch14_reg4_dinov2.lvd142m" },
    { name: "siglip", architecture: "vit_so400m_patch14_siglip_384.webli" },
  ],
  imageSize: 384,
  archSpecifier: "no-align+fused-gelu-mlp",
  llmBackboneId: "mamba-2.8b-zephyr",
  llmMaxLength: 2048,
  modelId: "cobra+3b",
};

/** The released towers and projector before a smaller real-shape LM: serving benchmarks that run in minutes. */
const COBRA_MAMBA_370M: CobraPreset = {
  ...COBRA_3_5B,
  description:
    "cobra-mamba-370m: DINOv2-L + SigLIP-SO400M at 384 px, fused-gelu-mlp projector, mamba-370m (quick serving benchmarks)",
  lm: mamba(1024, 48),
  modelId: "cobra-mamba-370m",
};

/** Real shapes (state-spaces/mamba-* configs). */
export const SYNTH_PRESETS: Readonly<Record<string, SynthPreset>> = Object.fromEntries([
  lm("mamba-130m", 768, 24),
  lm("mamba-370m", 1024, 48),
  lm("mamba-790m", 1536, 48),
  lm("mamba-1.4b", 2048, 48),
  lm("mamba-2.8b", 2560, 64),
  ["cobra-3.5b", COBRA_3_5B],
  ["cobra-mamba-370m", COBRA_MAMBA_370M],
]);

/**
 * Seconds-to-write stand-ins with every part of the real ones, for tests and smoke runs; not listed in the
 * help. The towers keep the real architectures, shrunk through model_args as the tiny oracle fixture does.
 */
export const TEST_PRESETS: Readonly<Record<string, SynthPreset>> = {
  "test-tiny": {
    kind: "lm",
    description: "test-tiny: d_model 16, 2 layers",
    lm: { dModel: 16, nLayer: 2, vocabSize: 512 },
  },
  // The real vocabulary and width over 2 layers: 0.24 GB (2^30 bytes) of weights, most of them the embedding (the tied
  // head), in seconds; big enough that where they are held shows (the WebGPU heap test).
  "test-wide": {
    kind: "lm",
    description: "test-wide: d_model 1024, 2 layers, the real vocabulary",
    lm: mamba(1024, 2),
  },
  "test-tiny-cobra": {
    ...COBRA_3_5B,
    description: "test-tiny-cobra: 2-block towers, d_model 16 LM",
    lm: { dModel: 16, nLayer: 2, vocabSize: 512 },
    towers: [
      {
        name: "dino",
        architecture: "vit_large_patch14_reg4_dinov2",
        modelArgs: { embed_dim: 32, depth: 2, num_heads: 2 },
      },
      {
        name: "siglip",
        architecture: "vit_so400m_patch14_siglip_384",
        modelArgs: { embed_dim: 24, depth: 2, num_heads: 2 },
      },
    ],
    modelId: "cobra-test-tiny",
  },
};

export function findPreset(name: string): SynthPreset {
  const preset = SYNTH_PRESETS[name] ?? TEST_PRESETS[name];
  if (!preset)
    throw new InvalidArgumentError(
      `unknown preset "${name}"; known: ${Object.keys(SYNTH_PRESETS).join(", ")}`,
    );
  return preset;
}
