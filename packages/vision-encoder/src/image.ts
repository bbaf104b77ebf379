import { InvalidArgumentError, type RgbImage } from "@cobra-ts/core";

export type { RgbImage } from "@cobra-ts/core";

/** Allocates an image; `fill` is an RGB triple (PIL's `Image.new("RGB", size, fill)`). */
export function createRgbImage(
  width: number,
  height: number,
  fill?: readonly [number, number, number],
): RgbImage {
  assertDimensions(width, height, "createRgbImage");
  const data = new Uint8Array(width * height * 3);
  if (fill && (fill[0] || fill[1] || fill[2])) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** Throws InvalidArgumentError unless `image` is a well-formed RgbImage (a caller-built one may not be). */
export function assertRgbImage(image: RgbImage, what = "image"): void {
  if (!image || typeof image !== "object")
    throw new InvalidArgumentError(`${what}: expected an RgbImage, got ${String(image)}`);
  assertDimensions(image.width, image.height, what);
  if (!(image.data instanceof Uint8Array))
    throw new InvalidArgumentError(`${what}: data must be a Uint8Array of interleaved RGB bytes`);
  const expected = image.width * image.height * 3;
  if (image.data.length !== expected)
    throw new InvalidArgumentError(
      `${what}: data has ${image.data.length} bytes, but ${image.width}x${image.height} RGB needs ${expected}`,
    );
}

function assertDimensions(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new InvalidArgumentError(
      `${what}: width and height must be positive integers, got ${width}x${height}`,
    );
}
