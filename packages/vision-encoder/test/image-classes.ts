/**
 * One small file of every image class the decoders treat differently (palette, low and 16-bit depths, grey,
 * grey+alpha, RGBA, GIF transparency, JPEG grey / 4:2:0 / 4:4:4 / progressive, CMYK and YCCK JPEG), most of
 * them at odd sizes, for tests that hold the browser decoder to the Node one class by class.
 */
import sharp, { type JpegOptions } from "sharp";
import { cmykJpegCases, patternSamples } from "./cmyk-jpegs.js";
import { writeGif, writePng } from "./image-writers.js";

export interface ClassImage {
  name: string;
  bytes: Uint8Array;
}

/** `n` samples of `bits` bits from the test pattern (16-bit ones spread over the whole range, low byte too). */
function levels(n: number, bits: number, seed: number): number[] {
  const bytes = patternSamples(n, 1, 2, seed);
  const max = (1 << bits) - 1;
  return Array.from({ length: n }, (_, i) =>
    bits === 16 ? (bytes[2 * i] << 8) | bytes[2 * i + 1] : Math.round((bytes[2 * i] * max) / 255),
  );
}

function png(
  name: string,
  width: number,
  height: number,
  bitDepth: 1 | 2 | 4 | 8 | 16,
  colourType: 0 | 2 | 3 | 4 | 6,
  extra: { palette?: number[]; transparency?: number[]; maxIndex?: number } = {},
): ClassImage {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colourType];
  const n = width * height * channels;
  const samples =
    colourType === 3
      ? levels(n, 8, width).map((v) => v % ((extra.maxIndex ?? 255) + 1))
      : levels(n, bitDepth, width);
  return { name, bytes: writePng({ width, height, bitDepth, colourType, samples, ...extra }) };
}

async function jpeg(
  name: string,
  width: number,
  height: number,
  channels: 1 | 3,
  options: JpegOptions,
): Promise<ClassImage> {
  const raw = Buffer.from(patternSamples(width, height, channels, width));
  return { name, bytes: await sharp(raw, { raw: { width, height, channels } }).jpeg(options).toBuffer() };
}

export async function imageClasses(): Promise<ClassImage[]> {
  const palette = levels(3 * 16, 8, 5);
  return [
    png("palette-4bit-trns-7x5.png", 7, 5, 4, 3, { palette, transparency: [0, 128, 255], maxIndex: 15 }),
    // Indices past a 6-colour palette: Pillow shows them from its default grey ramp, not as black.
    png("palette-short-8bit-9x4.png", 9, 4, 8, 3, { palette: palette.slice(0, 18), maxIndex: 11 }),
    png("grey-1bit-11x3.png", 11, 3, 1, 0),
    png("grey-2bit-6x5.png", 6, 5, 2, 0),
    png("grey-8bit-13x7.png", 13, 7, 8, 0),
    png("grey-16bit-5x4.png", 5, 4, 16, 0),
    png("grey-alpha-8bit-9x6.png", 9, 6, 8, 4),
    png("grey-alpha-16bit-7x3.png", 7, 3, 16, 4),
    png("rgb-16bit-6x5.png", 6, 5, 16, 2),
    png("rgba-8bit-10x7.png", 10, 7, 8, 6),
    png("rgba-16bit-5x6.png", 5, 6, 16, 6),
    {
      name: "gif-local-palette-interlaced-6x9.gif",
      bytes: writeGif({
        width: 6,
        height: 9,
        localPalette: palette.slice(0, 24),
        transparency: 3,
        interlaced: true,
        indices: levels(54, 8, 9).map((v) => v % 8),
      }),
    },
    await jpeg("jpeg-grey-17x11.jpg", 17, 11, 1, { quality: 90 }),
    await jpeg("jpeg-420-33x17.jpg", 33, 17, 3, { quality: 90 }),
    await jpeg("jpeg-444-21x13.jpg", 21, 13, 3, { quality: 90, chromaSubsampling: "4:4:4" }),
    await jpeg("jpeg-progressive-45x29.jpg", 45, 29, 3, { quality: 80, progressive: true }),
    ...(await cmykJpegCases()),
  ];
}
