import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureImages, haveFixtures, imagePath } from "../test/fixtures.js";
import { withExifOrientation, writePng, writeTiff16 } from "../test/image-writers.js";
import { inkToRgb } from "./codecs/pil-convert.js";
import { decodeImageBytes, decodeImageFile } from "./decode-node.js";
import { DEFAULT_MAX_PIXELS } from "./decode-options.js";
import { preprocessDinoSiglip } from "./preprocess/strategies.js";

/** A w x h raw RGB image of 16 x 16 blocks, each one flat colour (JPEG at quality 100 keeps flat blocks exact). */
function blocks(w: number, h: number, colour: (bx: number, by: number) => [number, number, number]): Buffer {
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(colour(x >> 4, y >> 4), (y * w + x) * 3);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cobra-decode-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("decodeImageBytes (sharp) follows Pillow 9.4's open + convert('RGB')", () => {
  it("CMYK JPEG (Adobe, inverted): R = (255 - K) - MULDIV255(C, 255 - K), computed here from the stored inks", async () => {
    const rgb = blocks(64, 32, (bx, by) => [bx * 80, 255 - by * 120, (bx * 50 + by * 90) % 256]);
    const input = sharp(rgb, { raw: { width: 64, height: 32, channels: 3 } });
    const inks = await input.clone().toColourspace("cmyk").raw().toBuffer(); // the CMYK values the JPEG will store
    const jpeg = await input.clone().toColourspace("cmyk").jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(jpeg).metadata()).space).toBe("cmyk");
    expect(jpeg.includes(Buffer.from("Adobe"))).toBe(true);

    const decoded = await decodeImageBytes(jpeg, { name: "cmyk.jpg" });
    const expected = new Uint8Array(64 * 32 * 3);
    for (let i = 0; i < 64 * 32; i++) {
      const [c, m, y, k] = inks.subarray(i * 4, i * 4 + 4);
      const nk = 255 - k;
      const muldiv = (a: number) => (((a * nk + 128) >> 8) + a * nk + 128) >> 8;
      expected.set([nk - muldiv(c), nk - muldiv(m), nk - muldiv(y)], i * 3);
      expect(inkToRgb(c, k)).toBe(expected[i * 3]);
    }
    expect(Buffer.compare(Buffer.from(decoded.data), Buffer.from(expected))).toBe(0);
    // sharp's own CMYK -> sRGB (through a CMYK ICC profile) is something else entirely.
    expect(Buffer.compare(await sharp(jpeg).raw().toBuffer(), Buffer.from(expected))).not.toBe(0);
  });

  it("greyscale JPEG: grey replicated", async () => {
    const grey = Buffer.from(
      Array.from({ length: 32 * 16 }, (_, i) => ((i >> 4) & 1 ? 200 : 30) + (i >> 8) * 10),
    );
    const jpeg = await sharp(grey, { raw: { width: 32, height: 16, channels: 1 } })
      .jpeg({ quality: 100 })
      .toBuffer();
    const levels = await sharp(jpeg).toColourspace("b-w").raw().toBuffer();
    const decoded = await decodeImageBytes(jpeg);
    expect(Array.from(decoded.data)).toEqual(Array.from(levels).flatMap((v) => [v, v, v]));
  });

  it("EXIF orientation is not applied", async () => {
    const rgb = blocks(48, 16, (bx) => [bx * 100, 50, 200 - bx * 60]);
    const plain = await sharp(rgb, { raw: { width: 48, height: 16, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const rotated = withExifOrientation(plain, 6);
    expect((await sharp(rotated).metadata()).orientation).toBe(6);
    const a = await decodeImageBytes(plain);
    const b = await decodeImageBytes(rotated);
    expect([b.width, b.height]).toEqual([48, 16]);
    expect(b.data).toEqual(a.data);
  });

  it("WebP with alpha: RGB kept under alpha 0 (no compositing)", async () => {
    const rgba = Buffer.from([10, 20, 30, 0, 200, 100, 50, 128, 255, 255, 255, 255, 1, 2, 3, 0]);
    const webp = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
      .webp({ lossless: true, exact: true })
      .toBuffer();
    expect(Array.from((await decodeImageBytes(webp)).data)).toEqual([
      10, 20, 30, 200, 100, 50, 255, 255, 255, 1, 2, 3,
    ]);
  });

  it("16-bit TIFF: grey clipped (mode I;16), RGB high byte (RGB;16L)", async () => {
    const greyTiff = writeTiff16(4, 1, 1, [5, 255, 256, 40000]);
    expect((await sharp(greyTiff).metadata()).depth).toBe("ushort");
    expect(Array.from((await decodeImageBytes(greyTiff)).data)).toEqual([
      5, 5, 5, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ]);
    const rgbTiff = writeTiff16(2, 1, 3, [0x1234, 0xff00, 0x00ff, 300, 65535, 0x8080]);
    expect(Array.from((await decodeImageBytes(rgbTiff)).data)).toEqual([0x12, 0xff, 0x00, 1, 255, 0x80]);
  });

  it("AVIF decodes (Pillow 9.4 has no AVIF support, so there is no reference; lossless round trip)", async () => {
    const rgb = blocks(32, 32, (bx, by) => [bx * 200, by * 150, 77]);
    const avif = await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } })
      .avif({ lossless: true })
      .toBuffer();
    const decoded = await decodeImageBytes(avif, { name: "x.avif" });
    expect([decoded.width, decoded.height]).toEqual([32, 32]);
    expect(Buffer.compare(Buffer.from(decoded.data), rgb)).toBe(0);
  });

  it("a 1x1 image decodes and preprocesses (Pillow resizes 1x1 fine)", async () => {
    const png = writePng({ width: 1, height: 1, bitDepth: 8, colourType: 2, samples: [12, 34, 56] });
    const image = await decodeImageBytes(png);
    expect(image).toEqual({ width: 1, height: 1, data: Uint8Array.from([12, 34, 56]) });
    for (const strategy of ["resize-naive", "resize-crop", "letterbox"] as const) {
      const { dino, siglip } = preprocessDinoSiglip(image, { strategy });
      expect(dino.pixels.shape).toEqual([1, 3, 384, 384]);
      for (let c = 0; c < 3; c++) {
        const plane = siglip.pixels.data.subarray(c * 384 * 384, (c + 1) * 384 * 384);
        expect(plane.every((v) => v === [12, 34, 56][c])).toBe(true);
      }
    }
  });
});

describe("decoding errors are typed and name the input", () => {
  const rgbPng = writePng({
    width: 20,
    height: 10,
    bitDepth: 8,
    colourType: 2,
    samples: new Array(600).fill(1),
  });

  it("zero-byte file", async () => {
    const path = join(dir, "empty.png");
    await writeFile(path, new Uint8Array(0));
    await expect(decodeImageFile(path)).rejects.toMatchObject({
      name: "ImageDecodeError",
      message: `${path}: empty file (0 bytes), not an image`,
    });
  });

  it("missing file", async () => {
    await expect(decodeImageFile(join(dir, "nope.jpg"))).rejects.toMatchObject({ name: "FileNotFoundError" });
  });

  it("unsupported formats: text, PDF, SVG", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "notes.txt",
        "hello, this is not an image\n",
        /notes\.txt: unsupported image format \(text\); supported: jpeg, png/,
      ],
      [
        "doc.pdf",
        "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        /doc\.pdf: unsupported image format \(a PDF document\)/,
      ],
      [
        "pic.svg",
        '<svg xmlns="http://www.w3.org/2000/svg"/>',
        /pic\.svg: unsupported image format \(XML\/SVG\)/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, Buffer.from(text, "latin1"));
      await expect(decodeImageFile(path)).rejects.toThrow(message);
      await expect(decodeImageFile(path)).rejects.toMatchObject({ name: "ImageDecodeError" });
    }
  });

  it("corrupt and truncated files", async () => {
    const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 0x41)]);
    await expect(decodeImageBytes(garbage, { name: "garbage.jpg" })).rejects.toMatchObject({
      name: "ImageDecodeError",
      message: expect.stringMatching(/^garbage\.jpg: corrupt or (unreadable|truncated) jpeg/),
    });
    const jpeg = await sharp(rgbPng).jpeg().toBuffer();
    await expect(
      decodeImageBytes(jpeg.subarray(0, jpeg.length >> 1), { name: "half.jpg" }),
    ).rejects.toMatchObject({
      name: "ImageDecodeError",
      message: expect.stringMatching(/^half\.jpg: /),
    });
    const badPng = Buffer.from(rgbPng);
    badPng.fill(0, 40, 60);
    await expect(decodeImageBytes(badPng, { name: "bad.png" })).rejects.toMatchObject({
      name: "ImageDecodeError",
      message: expect.stringMatching(/^bad\.png: /),
    });
  });

  it("over the pixel limit: refused from the header, default limit = Pillow's DecompressionBombError threshold", async () => {
    expect(DEFAULT_MAX_PIXELS).toBe(178_956_970);
    for (const [name, bytes] of [
      ["big.png", rgbPng],
      ["big.jpg", await sharp(rgbPng).jpeg().toBuffer()],
      ["big.webp", await sharp(rgbPng).webp().toBuffer()],
    ] as const) {
      await expect(decodeImageBytes(bytes, { name, maxPixels: 199 })).rejects.toThrow(
        `${name}: image size 20x10 (200 pixels) exceeds the limit of 199 pixels`,
      );
      await expect(decodeImageBytes(bytes, { name, maxPixels: 200 })).resolves.toMatchObject({
        width: 20,
        height: 10,
      });
    }
  });

  it("a header claiming 60000 x 60000 pixels is refused by default before any decoding", async () => {
    // A JPEG SOF0 header of 60000x60000 with no scan data: 3.6e9 pixels.
    const jpeg = Buffer.from(await sharp(rgbPng).jpeg().toBuffer());
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(60000, sof + 5);
    jpeg.writeUInt16BE(60000, sof + 7);
    await expect(decodeImageBytes(jpeg, { name: "bomb.jpg" })).rejects.toThrow(
      "bomb.jpg: image size 60000x60000 (3600000000 pixels) exceeds the limit of 178956970 pixels",
    );
  });

  it("rejects an invalid maxPixels option", async () => {
    await expect(decodeImageBytes(rgbPng, { maxPixels: 0 })).rejects.toMatchObject({
      name: "InvalidArgumentError",
    });
  });
});

describe.skipIf(!haveFixtures)("fixture images", () => {
  it("all decode at the sizes expected/manifest.json records", async () => {
    const images = fixtureImages();
    expect(images.length).toBeGreaterThan(0);
    for (const { name, file, width, height } of images) {
      const image = await decodeImageFile(imagePath(name));
      expect([image.width, image.height], file).toEqual([width, height]);
      expect(image.data.length, file).toBe(width * height * 3);
    }
  });
});
