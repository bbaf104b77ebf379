/**
 * Four-component JPEGs of every layout the CMYK decoder distinguishes, for the Node and Chromium tests: sharp's
 * own CMYK output (Adobe-inverted, baseline and progressive with successive approximation) and files from
 * jpeg-writer.ts for what sharp never writes (YCCK, subsampled components, no Adobe marker or an unknown
 * transform code, restart intervals, one scan per component, components too narrow for fancy upsampling).
 */
import sharp from "sharp";
import { type JpegSpec, writeJpeg } from "./jpeg-writer.js";

/** Deterministic samples: gradients, stripes and pseudo-random noise, so that blocks carry AC energy. */
export function patternSamples(width: number, height: number, channels: number, seed = 1): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let state = seed >>> 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        const smooth = ((x * (c + 3) * 7 + y * (11 - c) * 5) >> 1) & 255;
        const stripes = (x >> (c + 1)) & 1 ? 60 : 0;
        out[(y * width + x) * channels + c] = (smooth + stripes + (state >>> 27)) & 255;
      }
  return out;
}

function written(name: string, spec: Omit<JpegSpec, "samples">): { name: string; bytes: Buffer } {
  return { name, bytes: writeJpeg({ ...spec, samples: patternSamples(spec.width, spec.height, 4) }) };
}

const S1: [number, number] = [1, 1];

/** Every CMYK / YCCK JPEG case, named for test titles (and served under that name in the Chromium test). */
export async function cmykJpegCases(): Promise<{ name: string; bytes: Buffer }[]> {
  const viaSharp = async (name: string, width: number, height: number, progressive: boolean) => ({
    name,
    bytes: await sharp(patternSamples(width, height, 3, width), { raw: { width, height, channels: 3 } })
      .toColourspace("cmyk")
      .jpeg({ quality: 90, progressive })
      .toBuffer(),
  });
  return [
    await viaSharp("cmyk-sharp-320x240.jpg", 320, 240, false),
    await viaSharp("cmyk-sharp-odd-33x17.jpg", 33, 17, false),
    await viaSharp("cmyk-sharp-progressive-203x131.jpg", 203, 131, true),
    written("cmyk-no-adobe-20x12.jpg", { width: 20, height: 12, sampling: [S1, S1, S1, S1] }),
    written("cmyk-adobe0-restart-41x23.jpg", {
      width: 41,
      height: 23,
      sampling: [S1, S1, S1, S1],
      adobeTransform: 0,
      restartInterval: 5,
    }),
    written("ycck-h2v2-37x29.jpg", {
      width: 37,
      height: 29,
      sampling: [[2, 2], S1, S1, [2, 2]],
      adobeTransform: 2,
    }),
    written("ycck-h2v1-45x9.jpg", {
      width: 45,
      height: 9,
      sampling: [[2, 1], S1, S1, [2, 1]],
      adobeTransform: 2,
    }),
    written("ycck-h1v2-18x35.jpg", {
      width: 18,
      height: 35,
      sampling: [[1, 2], S1, S1, [1, 2]],
      adobeTransform: 2,
    }),
    written("ycck-mixed-4x1-51x27.jpg", {
      width: 51,
      height: 27,
      sampling: [[4, 1], S1, [2, 1], [2, 1]],
      adobeTransform: 2,
    }),
    written("ycck-unknown-transform-1-24x16.jpg", {
      width: 24,
      height: 16,
      sampling: [S1, S1, S1, S1],
      adobeTransform: 1,
    }),
    written("ycck-h2v2-narrow-3x5.jpg", {
      width: 3,
      height: 5,
      sampling: [[2, 2], S1, S1, [2, 2]],
      adobeTransform: 2,
    }),
    written("ycck-h2v1-narrow-5x3.jpg", {
      width: 5,
      height: 3,
      sampling: [[2, 1], S1, S1, [2, 1]],
      adobeTransform: 2,
    }),
    written("ycck-separate-scans-restart-35x22.jpg", {
      width: 35,
      height: 22,
      sampling: [[2, 2], S1, S1, [2, 2]],
      adobeTransform: 2,
      restartInterval: 3,
      separateScans: true,
    }),
  ];
}
