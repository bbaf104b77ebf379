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

/** Offsets of the bytes inside a JPEG's scans that may change without making or unmaking a marker. */
function entropyCodedBytes(jpeg: Uint8Array): number[] {
  const out: number[] = [];
  let o = 2;
  while (o + 4 <= jpeg.length) {
    const marker = jpeg[o + 1];
    const end = o + 2 + ((jpeg[o + 2] << 8) | jpeg[o + 3]);
    o = end;
    if (marker !== 0xda) continue;
    for (; o + 1 < jpeg.length && !(jpeg[o] === 0xff && jpeg[o + 1] !== 0); o++)
      if (jpeg[o] !== 0xff && !(jpeg[o] === 0 && jpeg[o - 1] === 0xff)) out.push(o);
  }
  return out;
}

describe("corrupt entropy-coded data: the browser path gives the Node path's pixels", () => {
  const S1: [number, number] = [1, 1];
  const spec = { width: 48, height: 32, adobeTransform: 2 };
  const files = {
    "ycck-h2v2": writeJpeg({
      ...spec,
      sampling: [[2, 2], S1, S1, [2, 2]],
      samples: patternSamples(48, 32, 4),
    }),
    progressive: CASES.find((c) => c.name.startsWith("cmyk-sharp-progressive"))!.bytes,
  };
  // Entropy-coded bytes changed (never 0xFF, its stuffed 0x00, or into 0xFF, so that no marker appears or
  // vanishes): invalid Huffman codes, run lengths past the block and wild coefficients, which libjpeg decodes
  // on with mere warnings. Wild coefficients are where libjpeg-turbo's SIMD IDCT (16-bit lanes) parts from
  // plain 32-bit arithmetic.
  for (const [kind, good] of Object.entries(files)) {
    const entropy = entropyCodedBytes(good);
    for (let seed = 1; seed <= 24; seed++)
      it(`${kind}, corruption ${seed}`, async () => {
        const bad = Buffer.from(good);
        for (let j = 0; j < 3; j++) {
          const at = entropy[(seed * 7919 + j * 104729) % entropy.length];
          bad[at] = (bad[at] ^ (seed * 37 + j)) & 0xfe;
        }
        const node = await decodeImageBytes(bad);
        const browser = await decodeImageBrowser(bad);
        expect(Buffer.compare(Buffer.from(browser.data), Buffer.from(node.data))).toBe(0);
      });
  }
});

describe("scans cut short: the browser path gives the Node path's pixels", () => {
  /** [start, end) of each scan's entropy-coded data, restart markers included. */
  function scanData(jpeg: Uint8Array): [number, number][] {
    const out: [number, number][] = [];
    let o = 2;
    while (o + 4 <= jpeg.length && jpeg[o + 1] !== 0xd9) {
      const marker = jpeg[o + 1];
      o += 2 + ((jpeg[o + 2] << 8) | jpeg[o + 3]);
      if (marker !== 0xda) continue;
      const start = o;
      while (!(jpeg[o] === 0xff && jpeg[o + 1] !== 0 && (jpeg[o + 1] < 0xd0 || jpeg[o + 1] > 0xd7))) o++;
      out.push([start, o]);
    }
    return out;
  }
  const named = (prefix: string) => CASES.find((c) => c.name.startsWith(prefix))!.bytes;

  // The data runs into the next marker before the scan is complete: libjpeg warns ("premature end of data
  // segment"), finishes the MCU with zero bits and leaves the scan's (or restart interval's) other MCUs alone.
  for (const [name, jpeg, which] of [
    ["baseline, its one scan", named("ycck-h2v2-37x29"), 0],
    ["progressive, first scan", named("cmyk-sharp-progressive"), 0],
    ["progressive, a refinement scan", named("cmyk-sharp-progressive"), -2],
  ] as const)
    it(name, async () => {
      const scans = scanData(jpeg);
      const [start, end] = scans.at(which)!;
      const cut = Buffer.concat([
        jpeg.subarray(0, start + Math.floor((end - start) * 0.6)),
        jpeg.subarray(end),
      ]);
      const node = await decodeImageBytes(cut);
      expect(Buffer.compare(Buffer.from((await decodeImageBrowser(cut)).data), Buffer.from(node.data))).toBe(
        0,
      );
      expect(
        Buffer.compare(Buffer.from(node.data), Buffer.from((await decodeImageBytes(jpeg)).data)),
      ).not.toBe(0);
    });

  it("restart intervals: one interval cut short, decoding resumes at the next restart marker", async () => {
    const jpeg = named("cmyk-adobe0-restart");
    const [start, end] = scanData(jpeg)[0];
    const rst = jpeg.indexOf(Buffer.from([0xff, 0xd0]), start);
    expect(rst).toBeGreaterThan(start);
    expect(rst).toBeLessThan(end);
    // Drop the second half of the first interval.
    const cut = Buffer.concat([jpeg.subarray(0, start + Math.floor((rst - start) / 2)), jpeg.subarray(rst)]);
    const node = await decodeImageBytes(cut);
    expect(Buffer.compare(Buffer.from((await decodeImageBrowser(cut)).data), Buffer.from(node.data))).toBe(0);
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
