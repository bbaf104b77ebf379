/**
 * First frame of a GIF exactly as Pillow 9.4 opens it and `convert("RGB")`s it. Own decoder because libvips and
 * browsers render transparent pixels as transparent black, while Pillow keeps the palette index and converts it
 * to that palette entry's colour. Pillow's first-frame rules (GifImagePlugin.py):
 * - the canvas is the logical screen, grown to hold the frame if the frame extends past it;
 * - it is filled with the transparency index when the frame has one, else with index 0;
 * - every frame pixel is written, transparent or not; indices map through the local palette, else the global
 *   one; palette entries past the stored ones (and images without a palette) are the grey ramp (i, i, i).
 */
import { ImageDecodeError } from "@cobra-ts/core";
import { checkPixelLimit } from "../decode-options.js";
import type { RgbImage } from "../image.js";

const MAX_LZW_BITS = 12;

/** A byte cursor that reports truncation as a typed error. */
class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly source: string,
  ) {}
  u8(): number {
    if (this.pos >= this.bytes.length) throw new ImageDecodeError(`${this.source}: GIF file is truncated`);
    return this.bytes[this.pos++];
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new ImageDecodeError(`${this.source}: GIF file is truncated`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Concatenated data sub-blocks up to the zero-length terminator. */
  subBlocks(): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let n = this.u8(); n !== 0; n = this.u8()) {
      parts.push(this.take(n));
      total += n;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** Palette as 256 RGB entries, the grey ramp beyond the stored ones (Pillow's ImagingPaletteNew). */
function paletteFrom(stored: Uint8Array | undefined): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table[i * 3] = table[i * 3 + 1] = table[i * 3 + 2] = i;
  if (stored) table.set(stored.subarray(0, Math.min(stored.length, table.length)));
  return table;
}

/**
 * Decodes the LZW stream into exactly `count` indices (extra codes are ignored, as in Pillow). A stream that ends
 * early is an error: Pillow then reads on past the image data and fails with "image file is truncated".
 */
function lzwDecode(data: Uint8Array, minCodeSize: number, count: number, source: string): Uint8Array {
  const indices = new Uint8Array(count);
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const prefix = new Int16Array(1 << MAX_LZW_BITS);
  const suffix = new Uint8Array(1 << MAX_LZW_BITS);
  const firstByte = new Uint8Array(1 << MAX_LZW_BITS);
  const stack = new Uint8Array(1 << MAX_LZW_BITS);
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    firstByte[i] = i;
    prefix[i] = -1;
  }
  let codeSize = minCodeSize + 1;
  let next = end + 1;
  let previous = -1;
  let bitBuffer = 0;
  let bitCount = 0;
  let written = 0;
  let pos = 0;
  while (written < count) {
    while (bitCount < codeSize && pos < data.length) {
      bitBuffer |= data[pos++] << bitCount;
      bitCount += 8;
    }
    if (bitCount < codeSize) break;
    const code = bitBuffer & ((1 << codeSize) - 1);
    bitBuffer >>>= codeSize;
    bitCount -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = end + 1;
      previous = -1;
      continue;
    }
    if (code === end) break;
    if (previous === -1) {
      if (code >= clear)
        throw new ImageDecodeError(`${source}: corrupt GIF image data (code ${code} before any literal)`);
      indices[written++] = code;
      previous = code;
      continue;
    }
    let c = code;
    let depth = 0;
    if (code >= next) {
      if (code > next)
        throw new ImageDecodeError(`${source}: corrupt GIF image data (code ${code} > next ${next})`);
      stack[depth++] = firstByte[previous]; // KwKwK case
      c = previous;
    }
    while (c >= clear) {
      stack[depth++] = suffix[c];
      c = prefix[c];
    }
    stack[depth++] = c;
    if (next < 1 << MAX_LZW_BITS) {
      prefix[next] = previous;
      suffix[next] = c;
      firstByte[next] = c;
      next++;
      if (next === 1 << codeSize && codeSize < MAX_LZW_BITS) codeSize++;
    }
    while (depth > 0 && written < count) indices[written++] = stack[--depth];
    previous = code;
  }
  if (written < count)
    throw new ImageDecodeError(
      `${source}: GIF image data ends after ${written} of ${count} pixels (truncated or corrupt)`,
    );
  return indices;
}

/** Row order of a GIF frame: interlaced frames store rows 0, 8, ... then 4, 12, ... then 2, 6, ... then odd rows. */
function rowOrder(height: number, interlaced: boolean): number[] {
  if (!interlaced) return Array.from({ length: height }, (_, i) => i);
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ])
    for (let y = start; y < height; y += step) rows.push(y);
  return rows;
}

/** The first frame of a GIF as Pillow's `Image.open(f).convert("RGB")`; the pixel limit is checked first. */
export function decodeGifFirstFrame(bytes: Uint8Array, source: string, maxPixels: number): RgbImage {
  const r = new Reader(bytes, source);
  const signature = String.fromCharCode(...r.take(6));
  if (signature !== "GIF87a" && signature !== "GIF89a")
    throw new ImageDecodeError(`${source}: not a GIF file`);
  let width = r.u16();
  let height = r.u16();
  const screenFlags = r.u8();
  r.take(2); // background index, aspect ratio: unused by Pillow's first frame
  const globalPalette = screenFlags & 0x80 ? r.take(3 << ((screenFlags & 7) + 1)) : undefined;
  let transparency: number | undefined;
  for (;;) {
    const tag = r.u8();
    if (tag === 0x3b) throw new ImageDecodeError(`${source}: GIF file has no image`);
    if (tag === 0x21) {
      const label = r.u8();
      const block = r.subBlocks();
      if (label === 0xf9 && block.length >= 4 && block[0] & 1) transparency = block[3];
      continue;
    }
    if (tag !== 0x2c) continue; // Pillow skips unknown bytes between blocks
    const x0 = r.u16();
    const y0 = r.u16();
    const frameWidth = r.u16();
    const frameHeight = r.u16();
    const flags = r.u8();
    width = Math.max(width, x0 + frameWidth);
    height = Math.max(height, y0 + frameHeight);
    if (width === 0 || height === 0)
      throw new ImageDecodeError(`${source}: GIF image has zero size (${width}x${height})`);
    checkPixelLimit(source, width, height, maxPixels);
    const localPalette = flags & 0x80 ? r.take(3 << ((flags & 7) + 1)) : undefined;
    const minCodeSize = r.u8();
    if (minCodeSize < 1 || minCodeSize > MAX_LZW_BITS - 1)
      throw new ImageDecodeError(`${source}: bad GIF LZW code size ${minCodeSize}`);
    const data = r.subBlocks();
    const indices = lzwDecode(data, minCodeSize, frameWidth * frameHeight, source);

    const canvas = new Uint8Array(width * height).fill(transparency ?? 0);
    const rows = rowOrder(frameHeight, (flags & 0x40) !== 0);
    for (let i = 0; i < indices.length; i++) {
      const y = rows[Math.floor(i / frameWidth)];
      canvas[(y0 + y) * width + x0 + (i % frameWidth)] = indices[i];
    }
    const palette = paletteFrom(localPalette ?? globalPalette);
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < canvas.length; i++) {
      const p = canvas[i] * 3;
      out[i * 3] = palette[p];
      out[i * 3 + 1] = palette[p + 1];
      out[i * 3 + 2] = palette[p + 2];
    }
    return { width, height, data: out };
  }
}
