/**
 * GPT-2 style byte-level alphabet: every byte 0..255 is written as one printable code point in token strings
 * (e.g. the space byte 0x20 as "Ġ"). Decoding maps those code points back to bytes.
 */
function buildUnicodeToByte(): Map<number, number> {
  const isPrintable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  const map = new Map<number, number>();
  // Printable bytes stand for themselves; the others (controls, space, 0x7f-0xa0, 0xad) are shifted to
  // U+0100, U+0101, ... in byte order.
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(isPrintable(b) ? b : 256 + shifted++, b);
  return map;
}

const UNICODE_TO_BYTE = buildUnicodeToByte();
const utf8 = new TextEncoder();

/**
 * The bytes a token string stands for. Like the Rust `tokenizers` ByteLevel decoder, a token containing a code
 * point outside the byte alphabet (the added space-run tokens of GPT-NeoX are made of real spaces) contributes
 * its own UTF-8 bytes instead.
 */
export function tokenToBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  let n = 0;
  for (const ch of token) {
    const b = UNICODE_TO_BYTE.get(ch.codePointAt(0)!);
    if (b === undefined) return utf8.encode(token);
    bytes[n++] = b;
  }
  return bytes.subarray(0, n);
}
