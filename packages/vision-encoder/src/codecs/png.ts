/**
 * A PNG decoder in plain TypeScript (inflate through the standard DecompressionStream), giving Pillow 9.4's
 * `convert("RGB")` result. Browsers need it: a canvas stores premultiplied alpha, so reading a semi-transparent
 * PNG back through one loses the colour of every pixel whose alpha is below 255, while Pillow keeps it. The same
 * decoder runs in Node, where it serves as an independent check of the sharp path.
 */
import { ImageDecodeError } from "@cobra-ts/core";
import { checkPixelLimit } from "../decode-options.js";
import type { RgbImage } from "../image.js";
import { type ColourModel, pilRgbFromSamples } from "./pil-convert.js";

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
}

/** Colour type -> (colour model, channels incl. alpha). Type 3 (palette) is expanded to RGB by this decoder. */
const COLOUR_TYPES: Record<number, { model: ColourModel; channels: number; depths: number[] }> = {
  0: { model: "gray", channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { model: "rgb", channels: 3, depths: [8, 16] },
  3: { model: "rgb", channels: 1, depths: [1, 2, 4, 8] },
  4: { model: "gray", channels: 2, depths: [8, 16] },
  6: { model: "rgb", channels: 4, depths: [8, 16] },
};

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** zlib inflate through the Compression Streams API (browsers, Node >= 18). */
export async function inflateZlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads the chunks; IHDR is validated and the pixel limit checked before any image data is inflated. */
function readChunks(bytes: Uint8Array, source: string, maxPixels: number) {
  const fail = (why: string): never => {
    throw new ImageDecodeError(`${source}: broken PNG file (${why})`);
  };
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  for (let pos = 8; pos < bytes.length && !sawEnd; ) {
    if (pos + 12 > bytes.length) fail("truncated chunk header");
    const length = u32(bytes, pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) fail(`chunk ${type} is truncated`);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const critical = (bytes[pos + 4] & 0x20) === 0;
    if (critical && crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== u32(bytes, pos + 8 + length))
      fail(`bad CRC in ${type}`);
    if (!header && type !== "IHDR") fail("IHDR is not the first chunk");
    if (type === "IHDR") {
      if (length !== 13) fail("IHDR has the wrong length");
      header = {
        width: u32(data, 0),
        height: u32(data, 4),
        bitDepth: data[8],
        colourType: data[9],
        interlaced: data[12] === 1,
      };
      const kind = COLOUR_TYPES[header.colourType];
      if (!kind?.depths.includes(header.bitDepth))
        throw new ImageDecodeError(
          `${source}: unsupported PNG colour type ${header.colourType} with bit depth ${header.bitDepth}`,
        );
      if (header.width === 0 || header.height === 0) fail(`zero size ${header.width}x${header.height}`);
      if (data[10] !== 0 || data[11] !== 0 || data[12] > 1)
        fail("unknown compression, filter or interlace method");
      checkPixelLimit(source, header.width, header.height, maxPixels);
    } else if (type === "PLTE") palette = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") sawEnd = true;
    else if (critical) fail(`unknown critical chunk ${type}`);
    pos += 12 + length;
  }
  if (!header) fail("no IHDR");
  if (idat.length === 0) fail("no image data");
  if (header!.colourType === 3 && !palette) fail("palette image without PLTE");
  return { header: header!, palette, idat };
}

/** Undoes the per-row filters of one (sub)image in place; returns the offset just past it. */
function unfilter(
  data: Uint8Array,
  offset: number,
  rowBytes: number,
  rows: number,
  bpp: number,
  source: string,
): number {
  let prior: Uint8Array | undefined;
  for (let y = 0; y < rows; y++) {
    if (offset + 1 + rowBytes > data.length)
      throw new ImageDecodeError(`${source}: PNG image data is truncated`);
    const filter = data[offset];
    const row = data.subarray(offset + 1, offset + 1 + rowBytes);
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) row[i] = (row[i] + row[i - bpp]) & 0xff;
        break;
      case 2:
        if (prior) for (let i = 0; i < rowBytes; i++) row[i] = (row[i] + prior[i]) & 0xff;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? row[i - bpp] : 0;
          const up = prior ? prior[i] : 0;
          row[i] = (row[i] + ((left + up) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? row[i - bpp] : 0;
          const b = prior ? prior[i] : 0;
          const c = prior && i >= bpp ? prior[i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          row[i] = (row[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        throw new ImageDecodeError(`${source}: broken PNG file (unknown row filter ${filter})`);
    }
    prior = row;
    offset += 1 + rowBytes;
  }
  return offset;
}

/** Reads sample `index` of an unfiltered row at the given bit depth. */
function sampleAt(row: Uint8Array, index: number, bitDepth: number): number {
  if (bitDepth === 8) return row[index];
  if (bitDepth === 16) return (row[index * 2] << 8) | row[index * 2 + 1];
  const perByte = 8 / bitDepth;
  const shift = 8 - bitDepth * ((index % perByte) + 1);
  return (row[Math.floor(index / perByte)] >> shift) & ((1 << bitDepth) - 1);
}

/** Decodes a PNG to Pillow's `Image.open(f).convert("RGB")`. */
export async function decodePng(bytes: Uint8Array, source: string, maxPixels: number): Promise<RgbImage> {
  const { header, palette, idat } = readChunks(bytes, source, maxPixels);
  const { width, height, bitDepth, colourType, interlaced } = header;
  const kind = COLOUR_TYPES[colourType];
  const total = idat.reduce((n, c) => n + c.length, 0);
  const compressed = new Uint8Array(total);
  let at = 0;
  for (const chunk of idat) {
    compressed.set(chunk, at);
    at += chunk.length;
  }
  let raw: Uint8Array;
  try {
    raw = await inflateZlib(compressed);
  } catch (e) {
    throw new ImageDecodeError(`${source}: broken PNG file (corrupt compressed image data)`, { cause: e });
  }

  const channels = kind.channels;
  const bitsPerPixel = channels * bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const samples =
    bitDepth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  // Low bit depths widen like Pillow's unpackers "1", "L;2", "L;4": v * 255 / (2^bits - 1).
  const grayScale = colourType === 0 && bitDepth < 8 ? 255 / ((1 << bitDepth) - 1) : 1;
  const passes = interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = Math.ceil((passWidth * bitsPerPixel) / 8);
    const start = offset;
    offset = unfilter(raw, offset, rowBytes, passHeight, bpp, source);
    for (let py = 0; py < passHeight; py++) {
      const row = raw.subarray(start + py * (rowBytes + 1) + 1, start + (py + 1) * (rowBytes + 1));
      const y = y0 + py * dy;
      for (let px = 0; px < passWidth; px++) {
        const base = (y * width + x0 + px * dx) * channels;
        for (let c = 0; c < channels; c++)
          samples[base + c] = sampleAt(row, px * channels + c, bitDepth) * grayScale;
      }
    }
  }

  if (colourType === 3) return expandPalette(samples as Uint8Array, palette!, width, height);
  return pilRgbFromSamples({ width, height, model: kind.model, channels, samples }, source);
}

/** Palette lookup; indices past the PLTE entries get Pillow's default grey ramp (i, i, i). */
function expandPalette(indices: Uint8Array, plte: Uint8Array, width: number, height: number): RgbImage {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table[i * 3] = table[i * 3 + 1] = table[i * 3 + 2] = i;
  table.set(plte.subarray(0, Math.min(plte.length - (plte.length % 3), table.length)));
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < indices.length; i++) {
    const p = indices[i] * 3;
    out[i * 3] = table[p];
    out[i * 3 + 1] = table[p + 1];
    out[i * 3 + 2] = table[p + 2];
  }
  return { width, height, data: out };
}
