import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { writeGif } from "../../test/image-writers.js";
import { DEFAULT_MAX_PIXELS } from "../decode-options.js";
import { decodeGifFirstFrame } from "./gif.js";

const PALETTE = [10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 210, 220];
const rgbOf = (palette: number[], indices: number[]) =>
  indices.flatMap((i) => palette.slice(i * 3, i * 3 + 3));
const decode = (bytes: Uint8Array) => decodeGifFirstFrame(bytes, "test.gif", DEFAULT_MAX_PIXELS);

describe("GIF first frame (Pillow 9.4 semantics)", () => {
  it("maps indices through the global palette", () => {
    const indices = [0, 1, 2, 3, 3, 2, 1, 0];
    const img = decode(writeGif({ width: 4, height: 2, globalPalette: PALETTE, indices }));
    expect([img.width, img.height]).toEqual([4, 2]);
    expect(Array.from(img.data)).toEqual(rgbOf(PALETTE, indices));
  });

  it("keeps the palette colour of the transparent index (no transparent black)", () => {
    const indices = [0, 1, 2, 3];
    const img = decode(writeGif({ width: 2, height: 2, globalPalette: PALETTE, transparency: 1, indices }));
    expect(Array.from(img.data)).toEqual(rgbOf(PALETTE, indices));
  });

  it("fills outside a smaller frame with the transparency index, else with index 0", () => {
    const frame = { x: 1, y: 1, width: 2, height: 1 };
    const withTrns = decode(
      writeGif({ width: 3, height: 2, globalPalette: PALETTE, transparency: 3, frame, indices: [1, 2] }),
    );
    expect(Array.from(withTrns.data)).toEqual(rgbOf(PALETTE, [3, 3, 3, 3, 1, 2]));
    const without = decode(writeGif({ width: 3, height: 2, globalPalette: PALETTE, frame, indices: [1, 2] }));
    expect(Array.from(without.data)).toEqual(rgbOf(PALETTE, [0, 0, 0, 0, 1, 2]));
  });

  it("grows the canvas when the frame extends past the logical screen", () => {
    const img = decode(
      writeGif({
        width: 1,
        height: 1,
        globalPalette: PALETTE,
        frame: { x: 1, y: 0, width: 1, height: 2 },
        indices: [2, 3],
      }),
    );
    expect([img.width, img.height]).toEqual([2, 2]);
    expect(Array.from(img.data)).toEqual(rgbOf(PALETTE, [0, 2, 0, 3]));
  });

  it("prefers the local palette, and maps indices past the palette to the grey ramp", () => {
    const local = [1, 2, 3, 4, 5, 6];
    const img = decode(
      writeGif({ width: 3, height: 1, globalPalette: PALETTE, localPalette: local, indices: [0, 1, 200] }),
    );
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6, 200, 200, 200]);
  });

  it("de-interlaces interlaced frames", () => {
    const indices = Array.from({ length: 3 * 11 }, (_, i) => Math.floor(i / 3) % 4);
    const img = decode(writeGif({ width: 3, height: 11, globalPalette: PALETTE, interlaced: true, indices }));
    expect(Array.from(img.data)).toEqual(rgbOf(PALETTE, indices));
  });

  it("decodes what a real LZW encoder (sharp/cgif) wrote like libvips does, when nothing is transparent", async () => {
    const w = 97;
    const h = 61;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      const x = i % w;
      const y = Math.floor(i / w);
      rgb.set([(x * 7) & 0xf0, (y * 11) & 0xe0, ((x ^ y) * 5) & 0xc0], i * 3);
    }
    const gif = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .gif({ dither: 0 })
      .toBuffer();
    const ours = decode(gif);
    const vips = await sharp(gif).removeAlpha().raw().toBuffer();
    expect([ours.width, ours.height]).toEqual([w, h]);
    expect(Buffer.compare(Buffer.from(ours.data), vips)).toBe(0);
  });

  it("checks the pixel limit from the header before decoding", () => {
    const gif = writeGif({ width: 4, height: 4, globalPalette: PALETTE, indices: new Array(16).fill(0) });
    expect(() => decodeGifFirstFrame(gif, "big.gif", 15)).toThrow(
      /big\.gif: image size 4x4 \(16 pixels\) exceeds the limit of 15/,
    );
  });

  it("rejects truncated and corrupt data with ImageDecodeError", () => {
    const gif = writeGif({ width: 4, height: 4, globalPalette: PALETTE, indices: new Array(16).fill(1) });
    expect(() => decode(gif.subarray(0, gif.length - 8))).toThrow(
      expect.objectContaining({ name: "ImageDecodeError" }),
    );
    expect(() => decode(gif.subarray(0, 20))).toThrow(/test\.gif: GIF file is truncated/);
  });
});
