import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { fixtureImages, haveFixtures, imagePath } from "../../test/fixtures.js";
import { type PngSpec, writePng } from "../../test/image-writers.js";
import { decodeImageBytes } from "../decode-node.js";
import { DEFAULT_MAX_PIXELS } from "../decode-options.js";
import { decodePng } from "./png.js";

const grey = (values: number[]) => values.flatMap((v) => [v, v, v]);

/** PNG variants and the RGB Pillow 9.4's open + convert("RGB") gives, worked out from the rules by hand. */
const CASES: { name: string; spec: PngSpec; rgb: number[] }[] = [
  {
    name: "16-bit grey (mode I): values clipped to 255, not scaled",
    spec: { width: 5, height: 1, bitDepth: 16, colourType: 0, samples: [0, 100, 255, 300, 65535] },
    rgb: grey([0, 100, 255, 255, 255]),
  },
  {
    name: "16-bit grey + alpha (opened as RGBA): high byte, alpha ignored",
    spec: { width: 2, height: 1, bitDepth: 16, colourType: 4, samples: [300, 0, 0x12ff, 65535] },
    rgb: grey([1, 0x12]),
  },
  {
    name: "16-bit RGB: high byte of each sample",
    spec: {
      width: 2,
      height: 1,
      bitDepth: 16,
      colourType: 2,
      samples: [0x12ff, 0x3480, 0x5601, 255, 256, 65535],
    },
    rgb: [0x12, 0x34, 0x56, 0, 1, 255],
  },
  {
    name: "16-bit RGBA: high byte, alpha ignored",
    spec: { width: 1, height: 1, bitDepth: 16, colourType: 6, samples: [0xabcd, 0x0101, 0xff00, 0] },
    rgb: [0xab, 0x01, 0xff],
  },
  {
    name: "1-bit grey: 0 / 255",
    spec: { width: 9, height: 1, bitDepth: 1, colourType: 0, samples: [1, 0, 1, 0, 0, 1, 0, 1, 1] },
    rgb: grey([255, 0, 255, 0, 0, 255, 0, 255, 255]),
  },
  {
    name: "2-bit grey: v * 85",
    spec: { width: 4, height: 1, bitDepth: 2, colourType: 0, samples: [0, 1, 2, 3] },
    rgb: grey([0, 85, 170, 255]),
  },
  {
    name: "4-bit grey: v * 17",
    spec: { width: 3, height: 1, bitDepth: 4, colourType: 0, samples: [0, 7, 15] },
    rgb: grey([0, 119, 255]),
  },
  {
    name: "grey + alpha (LA): grey replicated, alpha 0 does not blacken",
    spec: { width: 3, height: 1, bitDepth: 8, colourType: 4, samples: [7, 0, 200, 100, 255, 255] },
    rgb: grey([7, 200, 255]),
  },
  {
    name: "RGBA: alpha dropped without compositing",
    spec: { width: 2, height: 1, bitDepth: 8, colourType: 6, samples: [10, 20, 30, 0, 250, 128, 3, 77] },
    rgb: [10, 20, 30, 250, 128, 3],
  },
  {
    name: "palette with tRNS: palette colours, transparency ignored",
    spec: {
      width: 3,
      height: 1,
      bitDepth: 8,
      colourType: 3,
      samples: [0, 1, 2],
      palette: [10, 20, 30, 40, 50, 60, 70, 80, 90],
      transparency: [0, 128],
    },
    rgb: [10, 20, 30, 40, 50, 60, 70, 80, 90],
  },
  {
    name: "2-bit palette",
    spec: {
      width: 5,
      height: 1,
      bitDepth: 2,
      colourType: 3,
      samples: [3, 2, 1, 0, 3],
      palette: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    },
    rgb: [10, 11, 12, 7, 8, 9, 4, 5, 6, 1, 2, 3, 10, 11, 12],
  },
  {
    name: "grey with tRNS stays grey",
    spec: { width: 2, height: 1, bitDepth: 8, colourType: 0, samples: [7, 200], transparency: [0, 7] },
    rgb: grey([7, 200]),
  },
];

describe("PNG decoding follows Pillow's convert('RGB') rules (TypeScript decoder and sharp path)", () => {
  for (const { name, spec, rgb } of CASES) {
    it(name, async () => {
      const png = writePng(spec);
      const ours = await decodePng(png, "case.png", DEFAULT_MAX_PIXELS);
      const viaSharp = await decodeImageBytes(png, { name: "case.png" });
      expect([ours.width, ours.height]).toEqual([spec.width, spec.height]);
      expect(Array.from(ours.data)).toEqual(rgb);
      expect(Array.from(viaSharp.data)).toEqual(rgb);
    });
  }

  it("a palette index past the PLTE entries: Pillow's grey ramp (libvips gives black, so palette PNGs avoid sharp)", async () => {
    const png = writePng({
      width: 2,
      height: 1,
      bitDepth: 8,
      colourType: 3,
      samples: [1, 200],
      palette: [1, 2, 3, 4, 5, 6],
    });
    expect(Array.from((await decodePng(png, "p.png", DEFAULT_MAX_PIXELS)).data)).toEqual([
      4, 5, 6, 200, 200, 200,
    ]);
    expect(Array.from((await decodeImageBytes(png)).data)).toEqual([4, 5, 6, 200, 200, 200]);
  });
});

/** The set's PNG files; an RGB one (a photo in the sets made so far) feeds the re-encoding tests below. */
const PNGS = fixtureImages().filter((i) => i.format === "PNG");
const RGB_PNG = PNGS.find((i) => i.mode === "RGB") ?? PNGS[0];

describe.skipIf(!haveFixtures)("TypeScript PNG decoder == sharp path on real files", () => {
  it("the set has PNG files", () => {
    expect(PNGS.length).toBeGreaterThan(0);
  });

  for (const { name, file } of PNGS) {
    it(file, async () => {
      const bytes = readFileSync(imagePath(name));
      const ours = await decodePng(bytes, file, DEFAULT_MAX_PIXELS);
      const viaSharp = await decodeImageBytes(bytes, { name: file });
      expect([ours.width, ours.height]).toEqual([viaSharp.width, viaSharp.height]);
      expect(Buffer.compare(Buffer.from(ours.data), Buffer.from(viaSharp.data))).toBe(0);
      const { hasProfile } = await sharp(bytes).metadata();
      if (hasProfile) console.log(`${file} carries an ICC profile; decoded as Pillow does, ignoring it`);
    });
  }

  it.runIf(RGB_PNG !== undefined)(
    `interlaced (Adam7) and adaptively filtered PNGs written by libvips, 8 and 16 bit (from ${RGB_PNG?.file})`,
    async () => {
      const src = readFileSync(imagePath(RGB_PNG!.name));
      for (const [label, pipeline] of [
        ["8-bit RGB interlaced", sharp(src).png({ progressive: true, adaptiveFiltering: true })],
        ["16-bit RGB interlaced", sharp(src).toColourspace("rgb16").png({ progressive: true })],
        [
          "8-bit grey+alpha",
          sharp(src).ensureAlpha(0.5).toColourspace("b-w").png({ adaptiveFiltering: true }),
        ],
        ["4-bit palette", sharp(src).png({ palette: true, colours: 16, dither: 0 })],
      ] as const) {
        const bytes = await pipeline.toBuffer();
        const ours = await decodePng(bytes, label, DEFAULT_MAX_PIXELS);
        // Palette PNGs are decoded by the TypeScript decoder in both paths; compare those with libvips itself.
        const viaSharp = label.includes("palette")
          ? await sharp(bytes).removeAlpha().raw().toBuffer()
          : (await decodeImageBytes(bytes, { name: label })).data;
        expect(Buffer.compare(Buffer.from(ours.data), Buffer.from(viaSharp)), label).toBe(0);
      }
    },
  );

  it.runIf(RGB_PNG !== undefined)(
    `embedded ICC profiles are ignored, as Pillow's convert does (${RGB_PNG?.file} re-tagged Display P3)`,
    async () => {
      const bytes = readFileSync(imagePath(RGB_PNG!.name));
      const p3 = await sharp(bytes).withIccProfile("p3").png().toBuffer();
      expect((await sharp(p3).metadata()).hasProfile).toBe(true);
      const ours = await decodePng(p3, "p3.png", DEFAULT_MAX_PIXELS);
      const viaSharp = await decodeImageBytes(p3, { name: "p3.png" });
      const managed = await sharp(p3).raw().toBuffer(); // sharp's default: converted to sRGB through the profile
      expect(Buffer.compare(Buffer.from(ours.data), Buffer.from(viaSharp.data))).toBe(0);
      expect(Buffer.compare(Buffer.from(ours.data), managed)).not.toBe(0);
    },
  );
});
