/**
 * Minimal PNG and GIF writers for tests: they produce exactly the sample values a test asks for (bit depths,
 * palettes, transparency, frame offsets) so that expected RGB values can be computed independently.
 */
import { crc32, deflateSync } from "node:zlib";

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colourType: 0 | 2 | 3 | 4 | 6;
  /** Row-major samples, channels interleaved, each in 0 .. 2^bitDepth - 1. */
  samples: number[];
  palette?: number[];
  transparency?: number[];
}

const PNG_CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** A non-interlaced PNG with filter type 0 on every row. */
export function writePng(spec: PngSpec): Buffer {
  const { width, height, bitDepth, colourType, samples } = spec;
  const perRow = width * PNG_CHANNELS[colourType];
  const rowBytes = Math.ceil((perRow * bitDepth) / 8);
  const raw = Buffer.alloc((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    for (let i = 0; i < perRow; i++) {
      const v = samples[y * perRow + i];
      if (bitDepth === 16) row.writeUInt16BE(v, i * 2);
      else if (bitDepth === 8) row[i] = v;
      else {
        const bit = i * bitDepth;
        row[bit >> 3] |= v << (8 - bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(spec.palette ? [chunk("PLTE", Uint8Array.from(spec.palette))] : []),
    ...(spec.transparency ? [chunk("tRNS", Uint8Array.from(spec.transparency))] : []),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

export interface GifSpec {
  width: number;
  height: number;
  /** RGB triples, flattened; padded with zeros to a power of two. */
  globalPalette?: number[];
  localPalette?: number[];
  transparency?: number;
  frame?: { x: number; y: number; width: number; height: number };
  interlaced?: boolean;
  /** Frame pixels (palette indices), row-major in display order. */
  indices: number[];
}

function paletteBits(palette: number[]): number {
  let bits = 1;
  while (1 << bits < palette.length / 3) bits++;
  return bits;
}

function paddedPalette(palette: number[], bits: number): number[] {
  return [...palette, ...new Array(3 * (1 << bits) - palette.length).fill(0)];
}

/** LZW with literal codes only (no string matching), tracking the decoder's code-size growth. */
function lzwLiterals(indices: number[], minCodeSize: number): number[] {
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  const emit = (code: number, size: number) => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  const clear = 1 << minCodeSize;
  let codeSize = minCodeSize + 1;
  let next = clear + 2;
  emit(clear, codeSize);
  indices.forEach((v, i) => {
    emit(v, codeSize);
    if (i > 0 && next < 4096) {
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
  });
  emit(clear + 1, codeSize);
  if (nbits > 0) out.push(acc & 0xff);
  return out;
}

export function writeGif(spec: GifSpec): Buffer {
  const frame = spec.frame ?? { x: 0, y: 0, width: spec.width, height: spec.height };
  const bytes: number[] = [...Buffer.from("GIF89a")];
  const u16 = (v: number) => bytes.push(v & 0xff, v >> 8);
  u16(spec.width);
  u16(spec.height);
  if (spec.globalPalette) {
    const bits = paletteBits(spec.globalPalette);
    bytes.push(0x80 | (bits - 1), 0, 0, ...paddedPalette(spec.globalPalette, bits));
  } else bytes.push(0, 0, 0);
  if (spec.transparency !== undefined) bytes.push(0x21, 0xf9, 4, 1, 0, 0, spec.transparency, 0);
  bytes.push(0x2c);
  u16(frame.x);
  u16(frame.y);
  u16(frame.width);
  u16(frame.height);
  let flags = spec.interlaced ? 0x40 : 0;
  const localBits = spec.localPalette ? paletteBits(spec.localPalette) : 0;
  if (spec.localPalette) flags |= 0x80 | (localBits - 1);
  bytes.push(flags);
  if (spec.localPalette) bytes.push(...paddedPalette(spec.localPalette, localBits));
  const rows = Array.from({ length: frame.height }, (_, y) => y);
  const order = spec.interlaced
    ? [
        ...rows.filter((y) => y % 8 === 0),
        ...rows.filter((y) => y % 8 === 4),
        ...rows.filter((y) => y % 4 === 2),
        ...rows.filter((y) => y % 2 === 1),
      ]
    : rows;
  const stream = order.flatMap((y) => spec.indices.slice(y * frame.width, (y + 1) * frame.width));
  const maxIndex = stream.reduce((m, v) => Math.max(m, v), 0);
  const minCodeSize = Math.max(2, Math.ceil(Math.log2(maxIndex + 1)));
  bytes.push(minCodeSize);
  const data = lzwLiterals(stream, minCodeSize);
  for (let i = 0; i < data.length; i += 255) {
    const block = data.slice(i, i + 255);
    bytes.push(block.length, ...block);
  }
  bytes.push(0, 0x3b);
  return Buffer.from(bytes);
}

/** An uncompressed little-endian 16-bit TIFF (one strip): grey (1 sample) or RGB (3 samples per pixel). */
export function writeTiff16(
  width: number,
  height: number,
  samplesPerPixel: 1 | 3,
  samples: number[],
): Buffer {
  const entries: [tag: number, type: number, count: number, value: number][] = [];
  const pixelBytes = samples.length * 2;
  const headerAndIfd = 8 + 2 + 9 * 12 + 4;
  const bitsOffset = headerAndIfd; // BitsPerSample array (RGB only), then pixel data
  const dataOffset = bitsOffset + (samplesPerPixel === 3 ? 6 : 0);
  entries.push([256, 3, 1, width], [257, 3, 1, height]);
  entries.push(samplesPerPixel === 3 ? [258, 3, 3, bitsOffset] : [258, 3, 1, 16]);
  entries.push([259, 3, 1, 1], [262, 3, 1, samplesPerPixel === 3 ? 2 : 1], [273, 4, 1, dataOffset]);
  entries.push([277, 3, 1, samplesPerPixel], [278, 3, 1, height], [279, 4, 1, pixelBytes]);
  const out = Buffer.alloc(dataOffset + pixelBytes);
  out.write("II*\0", 0, "latin1");
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const o = 10 + i * 12;
    out.writeUInt16LE(tag, o);
    out.writeUInt16LE(type, o + 2);
    out.writeUInt32LE(count, o + 4);
    if (type === 3 && count === 1) out.writeUInt16LE(value, o + 8);
    else out.writeUInt32LE(value, o + 8);
  });
  if (samplesPerPixel === 3) for (let i = 0; i < 3; i++) out.writeUInt16LE(16, bitsOffset + i * 2);
  for (const [i, v] of samples.entries()) out.writeUInt16LE(v, dataOffset + i * 2);
  return out;
}

/** Inserts an APP1 Exif segment with only an Orientation tag right after the JPEG's SOI marker. */
export function withExifOrientation(jpeg: Uint8Array, orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // big-endian TIFF header, IFD at 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation SHORT
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ]);
  const payload = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xffe1, 0);
  segment.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), segment, payload, jpeg.subarray(2)]);
}
