/**
 * Recognises an image container from its first bytes, so that unsupported inputs (PDF, SVG, text) are refused
 * with a clear message before any decoder runs, and so that the pixel limit can be checked from the header.
 */

export type ImageFormat = "png" | "jpeg" | "gif" | "webp" | "tiff" | "avif";

export const SUPPORTED_FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp", "gif", "tiff", "avif"];

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** The container format, or undefined when the bytes are not one of SUPPORTED_FORMATS. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = bytes;
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    ascii(b, 1, 3) === "PNG" &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 6 && (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a")) return "gif";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return "webp";
  if (b.length >= 4) {
    const head = ascii(b, 0, 4);
    if (head === "II*\0" || head === "MM\0*" || head === "II+\0" || head === "MM\0+") return "tiff";
  }
  if (isAvif(b)) return "avif";
  return undefined;
}

/** An ISO-BMFF `ftyp` box whose major or compatible brands include avif/avis. */
function isAvif(b: Uint8Array): boolean {
  if (b.length < 16 || ascii(b, 4, 4) !== "ftyp") return false;
  const boxSize = Math.min(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, b.length);
  for (let o = 8; o + 4 <= boxSize; o += 4) {
    if (o === 12) continue; // minor version, not a brand
    const brand = ascii(b, o, 4);
    if (brand === "avif" || brand === "avis") return true;
  }
  return false;
}

/** A short description of unrecognised bytes for error messages ("PDF document", "text", ...). */
export function describeUnknownBytes(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(bytes.length, 16));
  if (head.startsWith("%PDF")) return "a PDF document";
  if (/^\s*<(\?xml|svg)/i.test(head)) return "XML/SVG";
  if (head.startsWith("BM")) return "a BMP image";
  if (bytes.subarray(0, 64).every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)))
    return "text";
  const hex = Array.from(bytes.subarray(0, 8), (c) => c.toString(16).padStart(2, "0")).join(" ");
  return `unknown data starting with ${hex}`;
}
