import { ConfigError } from "@cobra-ts/core";

/**
 * The projector classes of the official `cobra/util/nn_utils.py`: `linear` = LinearProjector, `gelu-mlp` =
 * MLPProjector, `fused-gelu-mlp` = FusedMLPProjector (the released one), `fused-ldpnet` = FusedLDPProjector,
 * `ldpnet` = LDPProjector (defined there but unreachable from an `arch_specifier`; selectable by name only).
 */
export type ProjectorVariant = "linear" | "gelu-mlp" | "fused-gelu-mlp" | "fused-ldpnet" | "ldpnet";

export const PROJECTOR_VARIANTS: readonly ProjectorVariant[] = [
  "linear",
  "gelu-mlp",
  "fused-gelu-mlp",
  "fused-ldpnet",
  "ldpnet",
];

export interface ProjectorSpec {
  /** The string it was chosen from, e.g. "no-align+fused-gelu-mlp". */
  archSpecifier: string;
  variant: ProjectorVariant;
}

/**
 * Picks the projector exactly as `CobraVLM.__init__` does: `linear` only as the whole string, the others by
 * suffix, `fused-gelu-mlp` tested before `gelu-mlp` (which it also ends with). Anything else is refused there
 * with a ValueError, so it is a ConfigError here.
 */
export function projectorSpecFromArchSpecifier(archSpecifier: string): ProjectorSpec {
  if (typeof archSpecifier !== "string")
    throw new ConfigError(`arch_specifier must be a string, got ${JSON.stringify(archSpecifier)}`);
  const variant = variantOf(archSpecifier);
  if (!variant)
    throw new ConfigError(
      `arch_specifier "${archSpecifier}" selects no projector: Cobra accepts "linear" or a string ending in ` +
        `"fused-gelu-mlp", "gelu-mlp" or "fused-ldpnet" (e.g. "no-align+fused-gelu-mlp")`,
    );
  return { archSpecifier, variant };
}

function variantOf(arch: string): ProjectorVariant | null {
  if (arch === "linear") return "linear";
  if (arch.endsWith("fused-gelu-mlp")) return "fused-gelu-mlp";
  if (arch.endsWith("gelu-mlp")) return "gelu-mlp";
  if (arch.endsWith("fused-ldpnet")) return "fused-ldpnet";
  return null;
}

export function isProjectorVariant(name: unknown): name is ProjectorVariant {
  return typeof name === "string" && (PROJECTOR_VARIANTS as readonly string[]).includes(name);
}
