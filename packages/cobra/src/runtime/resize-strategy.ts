import { InvalidArgumentError, type VisionEncoder } from "@cobra-ts/core";
import { type ImageEncoder, RESIZE_STRATEGIES, type ResizeStrategy } from "@cobra-ts/vision-encoder";

/** Whether `value` names one of Cobra's image_resize_strategy values. */
export function isResizeStrategy(value: string): value is ResizeStrategy {
  return (RESIZE_STRATEGIES as readonly string[]).includes(value);
}

/**
 * `encoder` behind another of Cobra's resize strategies (an ablation: answers of a model asked about images
 * prepared otherwise than it was trained). Only the project's ImageEncoder has a resize step to change.
 */
export function withResizeStrategy(encoder: VisionEncoder, strategy: ResizeStrategy): VisionEncoder {
  if (!isResizeStrategy(strategy))
    throw new InvalidArgumentError(
      `resize strategy ${JSON.stringify(strategy)}: choose one of ${RESIZE_STRATEGIES.join(", ")}`,
    );
  // Checked by shape, not instanceof: the package's entry points (index, node, browser) are separate bundles.
  const image = encoder as Partial<ImageEncoder>;
  if (typeof image.withStrategy !== "function" || !image.preprocessing)
    throw new InvalidArgumentError(
      "this vision part has no resize step to change (it is not a converted ViT encoder): leave out the resize strategy",
    );
  return image.preprocessing.strategy === strategy ? encoder : image.withStrategy(strategy);
}
