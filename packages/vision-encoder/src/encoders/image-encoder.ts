import {
  type Cancellable,
  InvalidArgumentError,
  type RgbImage,
  throwIfAborted,
  type VisionEncoder,
  type VisionFeatures,
} from "@cobra-ts/core";
import { encoderTensors, type ResizeStrategy, resizeForEncoder } from "../preprocess/strategies.js";
import { concatFeatures } from "./fused.js";
import type { PixelEncoder } from "./types.js";

export interface ImagePreprocessing {
  /** Cobra's image_resize_strategy. */
  strategy: ResizeStrategy;
  /** Square side every tower takes. */
  imageSize: number;
}

/**
 * The `VisionEncoder` contract over ViT towers: preprocesses a decoded image for each tower (its own resize
 * strategy, statistics and letterbox fill, PIL-exact), then encodes. A fused encoder's per-tower features are
 * kept too (for `cobra features` and ablations).
 */
export class ImageEncoder implements VisionEncoder {
  readonly numPatches: number;
  readonly featureDim: number;

  constructor(
    readonly towers: PixelEncoder,
    readonly preprocessing: ImagePreprocessing,
  ) {
    for (const spec of towers.inputs)
      if (spec.imageSize !== preprocessing.imageSize)
        throw new InvalidArgumentError(
          `encoder ${spec.name} takes ${spec.imageSize} px, the preprocessing makes ${preprocessing.imageSize} px`,
        );
    this.numPatches = towers.numPatches;
    this.featureDim = towers.featureDim;
  }

  /**
   * The same towers behind another resize strategy (an ablation: the model was trained with its own). The two
   * encoders share the towers: release only one of them.
   */
  withStrategy(strategy: ResizeStrategy): ImageEncoder {
    return new ImageEncoder(this.towers, { ...this.preprocessing, strategy });
  }

  /** The normalized [1, 3, S, S] pixels of each tower, in the towers' order. */
  pixelsOf(image: RgbImage): { name: string; data: Float32Array }[] {
    return this.towers.inputs.map((spec) => {
      // The tower's own statistics (its timm data config) set the normalization and the letterbox fill.
      const stats = { mean: spec.mean, std: spec.std };
      const resized = resizeForEncoder(image, this.preprocessing.strategy, stats, spec.imageSize);
      return { name: spec.name, data: encoderTensors(resized, stats).normalized.data };
    });
  }

  async encode(image: RgbImage, options: Cancellable = {}): Promise<VisionFeatures> {
    const pixels = this.pixelsOf(image);
    throwIfAborted(options.signal);
    const data = pixels.map((p) => p.data);
    if (!this.towers.encodeParts) return { features: await this.towers.encode(data), pixels };
    const towers = await this.towers.encodeParts(data);
    return { features: concatFeatures(towers.map((t) => t.features)), towers, pixels };
  }

  async release(): Promise<void> {
    await this.towers.release();
  }
}
