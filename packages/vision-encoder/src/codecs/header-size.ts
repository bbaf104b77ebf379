/**
 * Image size from the container header, without decoding pixels: lets browsers apply the pixel limit before
 * handing a JPEG or WebP to the platform decoder. Undefined when the header cannot be parsed.
 */
import type { ImageFormat } from "./sniff.js";

export interface ImageSize {
  width: number;
  height: number;
}

const u16be = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u16le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u24le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
const u32be = (b: Uint8Array, o: number) =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** The frame size and component count in the first SOFn marker segment. */
function jpegFrame(b: Uint8Array): (ImageSize & { components?: number }) | undefined {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return undefined;
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      o += 2; // standalone markers carry no length
      continue;
    }
    const length = u16be(b, o + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame)
      return o + 9 <= b.length
        ? { height: u16be(b, o + 5), width: u16be(b, o + 7), components: b[o + 9] }
        : undefined;
    o += 2 + length;
  }
  return undefined;
}

/**
 * Whether a JPEG's frame has four components (CMYK or YCCK): read from the header only, so that every other
 * JPEG goes to the platform decoder without further cost.
 */
export function isFourComponentJpeg(bytes: Uint8Array): boolean {
  return jpegFrame(bytes)?.components === 4;
}

/** Canvas size of a WebP: VP8X extended header, else the VP8 / VP8L bitstream header. */
function webpSize(b: Uint8Array): ImageSize | undefined {
  if (b.length < 30) return undefined;
  const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (chunk === "VP8X") return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  if (chunk === "VP8 ") return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  if (chunk === "VP8L") {
    const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return undefined;
}

/** Width and height from the header of a PNG, GIF, JPEG or WebP; undefined for other formats or bad headers. */
export function readHeaderSize(bytes: Uint8Array, format: ImageFormat): ImageSize | undefined {
  switch (format) {
    case "png":
      return bytes.length >= 24 ? { width: u32be(bytes, 16), height: u32be(bytes, 20) } : undefined;
    case "gif":
      return bytes.length >= 10 ? { width: u16le(bytes, 6), height: u16le(bytes, 8) } : undefined;
    case "jpeg": {
      const frame = jpegFrame(bytes);
      return frame && { width: frame.width, height: frame.height };
    }
    case "webp":
      return webpSize(bytes);
    default:
      return undefined;
  }
}
