import { InvalidArgumentError } from "@cobra-ts/core";
import type { EncodedFeatures, PixelSpec, VisionEncoder } from "./types.js";

/** Concatenates per-backbone features of the same images on the feature axis, in the given order. */
export function concatFeatures(parts: readonly EncodedFeatures[]): EncodedFeatures {
  const [batch, patches] = parts[0].dims;
  for (const p of parts)
    if (p.dims[0] !== batch || p.dims[1] !== patches)
      throw new InvalidArgumentError(
        `cannot concatenate features of dims [${p.dims}] with [${parts[0].dims}]`,
      );
  const total = parts.reduce((s, p) => s + p.dims[2], 0);
  const out = new Float32Array(batch * patches * total);
  for (let row = 0; row < batch * patches; row++) {
    let offset = row * total;
    for (const p of parts) {
      const width = p.dims[2];
      out.set(p.data.subarray(row * width, (row + 1) * width), offset);
      offset += width;
    }
  }
  return { data: out, dims: [batch, patches, total] };
}

/**
 * Cobra's fused backbone (`dinosiglip-vit-so-384px`): every part encodes its own pixels and the features are
 * concatenated on the feature axis, DINO then SigLIP -> [batch, 729, 1024 + 1152]. The parts stay separate
 * graphs, so each one still works alone for ablations.
 */
export class FusedEncoder implements VisionEncoder {
  readonly inputs: readonly PixelSpec[];
  readonly numPatches: number;
  readonly featureDim: number;

  constructor(readonly parts: readonly VisionEncoder[]) {
    if (parts.length === 0) throw new InvalidArgumentError("a fused encoder needs at least one part");
    this.numPatches = parts[0].numPatches;
    for (const p of parts)
      if (p.numPatches !== this.numPatches)
        throw new InvalidArgumentError(
          `fused parts disagree on the patch count: ${p.numPatches} vs ${this.numPatches}`,
        );
    this.inputs = parts.flatMap((p) => p.inputs);
    this.featureDim = parts.reduce((s, p) => s + p.featureDim, 0);
  }

  async encode(pixels: readonly Float32Array[]): Promise<EncodedFeatures> {
    return concatFeatures(await this.encodeParts(pixels));
  }

  /** Each part's own features, in order (what `encode` concatenates). */
  async encodeParts(pixels: readonly Float32Array[]): Promise<EncodedFeatures[]> {
    if (pixels.length !== this.inputs.length)
      throw new InvalidArgumentError(
        `fused encoder takes ${this.inputs.length} pixel tensors (${this.inputs.map((s) => s.name).join(", ")}), got ${pixels.length}`,
      );
    const outputs: EncodedFeatures[] = [];
    let next = 0;
    // One part at a time: on a CPU the parts would only compete for the same cores.
    for (const part of this.parts) {
      outputs.push(await part.encode(pixels.slice(next, next + part.inputs.length)));
      next += part.inputs.length;
    }
    return outputs;
  }

  async release(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.release()));
  }
}
