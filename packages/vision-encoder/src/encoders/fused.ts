import { f32, InvalidArgumentError } from "@cobra-ts/core";
import type { EncodedFeatures, PixelEncoder, PixelSpec } from "./types.js";

/** Concatenates per-backbone features of the same images on the feature axis, in the given order. */
export function concatFeatures(parts: readonly EncodedFeatures[]): EncodedFeatures {
  const [batch, patches] = parts[0].shape;
  for (const p of parts)
    if (p.shape[0] !== batch || p.shape[1] !== patches)
      throw new InvalidArgumentError(
        `cannot concatenate features of dims [${p.shape}] with [${parts[0].shape}]`,
      );
  const total = parts.reduce((s, p) => s + p.shape[2], 0);
  const out = new Float32Array(batch * patches * total);
  for (let row = 0; row < batch * patches; row++) {
    let offset = row * total;
    for (const p of parts) {
      const width = p.shape[2];
      out.set(p.data.subarray(row * width, (row + 1) * width), offset);
      offset += width;
    }
  }
  return f32([batch, patches, total], out);
}

/**
 * Cobra's fused backbone (`dinosiglip-vit-so-384px`): every part encodes its own pixels and the features are
 * concatenated on the feature axis, DINO then SigLIP -> [batch, 729, 1024 + 1152]. The parts stay separate
 * graphs, so each one still works alone for ablations.
 */
export class FusedEncoder implements PixelEncoder {
  readonly inputs: readonly PixelSpec[];
  readonly numPatches: number;
  readonly featureDim: number;

  constructor(readonly parts: readonly PixelEncoder[]) {
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
    return concatFeatures((await this.encodeParts(pixels)).map((p) => p.features));
  }

  /** Each part's own features, in order (what `encode` concatenates), named by the pixels it took. */
  async encodeParts(pixels: readonly Float32Array[]): Promise<{ name: string; features: EncodedFeatures }[]> {
    if (pixels.length !== this.inputs.length)
      throw new InvalidArgumentError(
        `fused encoder takes ${this.inputs.length} pixel tensors (${this.inputs.map((s) => s.name).join(", ")}), got ${pixels.length}`,
      );
    const outputs: { name: string; features: EncodedFeatures }[] = [];
    let next = 0;
    // One part at a time: on a CPU the parts would only compete for the same cores.
    for (const part of this.parts) {
      const features = await part.encode(pixels.slice(next, next + part.inputs.length));
      outputs.push({ name: part.inputs.map((i) => i.name).join("+"), features });
      next += part.inputs.length;
    }
    return outputs;
  }

  async release(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.release()));
  }
}
