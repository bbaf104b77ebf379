import { ImageDecodeError } from "@cobra-ts/core";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { cmykJpegCases, patternSamples } from "../../test/cmyk-jpegs.js";
import { type JpegSpec, writeJpeg } from "../../test/jpeg-writer.js";
import { decodeImageBrowser } from "../decode-browser.js";
import { decodeImageBytes } from "../decode-node.js";
import { decodeJpegInks } from "./jpeg-cmyk.js";

const CASES = await cmykJpegCases();

/** The inks the Node path reads through libvips (libjpeg-turbo, Adobe inversion undone). */
async function libvipsInks(jpeg: Uint8Array): Promise<Buffer> {
  return sharp(jpeg, { ignoreIcc: true, failOn: "error" })
    .pipelineColourspace("cmyk")
    .toColourspace("cmyk")
    .raw()
    .toBuffer();
}

describe("decodeJpegInks == libjpeg-turbo (through sharp), bit for bit", () => {
  for (const { name, bytes } of CASES)
    it(name, async () => {
      expect((await sharp(bytes).metadata()).space).toBe("cmyk");
      const inks = decodeJpegInks(bytes);
      const reference = await libvipsInks(bytes);
      expect(inks.samples.length).toBe(reference.length);
      expect(Buffer.compare(Buffer.from(inks.samples), reference)).toBe(0);
      // decodeImageBrowser needs no browser API for CMYK JPEGs: it is the whole browser path.
      const rgb = await decodeImageBrowser(bytes, { name });
      const node = await decodeImageBytes(bytes);
      expect([rgb.width, rgb.height]).toEqual([node.width, node.height]);
      expect(Buffer.compare(Buffer.from(rgb.data), Buffer.from(node.data))).toBe(0);
    });
});

describe("decodeJpegInks refuses what the Node path refuses, with ImageDecodeError", () => {
  const patterned = (spec: Omit<JpegSpec, "samples">) =>
    writeJpeg({ ...spec, samples: patternSamples(spec.width, spec.height, 4) });
  const S1: [number, number] = [1, 1];
  const good = patterned({ width: 24, height: 16, sampling: [S1, S1, S1, S1], adobeTransform: 0 });

  async function bothRefuse(bytes: Uint8Array, message: RegExp): Promise<void> {
    await expect(decodeImageBytes(bytes, { name: "in.jpg" })).rejects.toThrow(ImageDecodeError);
    const browser = decodeImageBrowser(bytes, { name: "in.jpg" });
    await expect(browser).rejects.toThrow(ImageDecodeError);
    await expect(browser).rejects.toThrow(message);
  }

  it("more than 10 blocks in an interleaved MCU", async () => {
    const bytes = patterned({
      width: 40,
      height: 24,
      sampling: [[4, 2], S1, [2, 1], [4, 2]],
      adobeTransform: 2,
    });
    await bothRefuse(bytes, /sampling factors too large for an interleaved scan/);
  });

  it("a file cut inside its entropy-coded data", async () => {
    await bothRefuse(good.subarray(0, good.length - 40), /^in\.jpg: JPEG file is truncated/);
  });

  it("a file without its EOI marker", async () => {
    await bothRefuse(good.subarray(0, good.length - 2), /^in\.jpg: JPEG file is truncated$/);
  });

  it("arithmetic coding (SOF9)", async () => {
    const sof = good.indexOf(Buffer.from([0xff, 0xc0]));
    const bytes = Buffer.from(good);
    bytes[sof + 1] = 0xc9;
    await expect(decodeImageBrowser(bytes, { name: "in.jpg" })).rejects.toThrow(
      /^in\.jpg: arithmetic-coded JPEG \(SOF 0xc9\) is not supported$/,
    );
  });

  it("the pixel limit, checked before any pixel is decoded", async () => {
    await expect(decodeImageBrowser(good, { name: "in.jpg", maxPixels: 24 * 16 - 1 })).rejects.toThrow(
      /exceeds the limit of 383 pixels/,
    );
  });
});
