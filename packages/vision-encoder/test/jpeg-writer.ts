/**
 * A minimal baseline JPEG writer for tests: it writes the layouts that encoders at hand (sharp) never produce
 * for four-component files, so that decoders can be checked against libjpeg-turbo on them: any sampling factors
 * per component, YCCK / CMYK / unmarked (Adobe APP14 transform flag or no APP14 at all), restart intervals, and
 * one scan per component. Image quality is irrelevant here; the files only have to be valid.
 */

export interface JpegSpec {
  width: number;
  height: number;
  /** Interleaved samples, one per component, exactly as the file is to store them (CMYK inks, YCCK, ...). */
  samples: Uint8Array;
  /** [horizontal, vertical] sampling factor of each component (1..4); the component count is their number. */
  sampling: [number, number][];
  /** Adobe APP14 colour transform flag (0 CMYK, 2 YCCK); undefined writes no APP14 segment. */
  adobeTransform?: number;
  /** MCUs between restart markers; 0 or undefined for none. */
  restartInterval?: number;
  /** One scan per component (non-interleaved) instead of a single interleaved scan. */
  separateScans?: boolean;
}

/** Zig-zag index -> row-major index. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
];

/** Small, uneven steps so that many AC coefficients survive and the decoder's IDCT is exercised. */
const QUANT = Array.from({ length: 64 }, (_, i) => 1 + ((i * 5) % 9));

/** DC categories 0..11, each a 4-bit code equal to the category. */
const DC_SYMBOLS = Array.from({ length: 12 }, (_, i) => i);
/** Every AC run/size symbol (EOB, ZRL, run 0..15 x size 1..10), each an 8-bit code equal to its index here. */
const AC_SYMBOLS = [0x00, 0xf0];
for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) AC_SYMBOLS.push((r << 4) | s);
const AC_CODE = new Map(AC_SYMBOLS.map((sym, i) => [sym, i]));

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.emit();
    }
  }

  private emit(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }

  /** Pads the last byte with 1-bits, as the standard asks before a marker. */
  flush(): void {
    while (this.n) this.write(1, 1);
  }
}

const category = (v: number) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));
const amplitudeBits = (v: number, s: number) => (v < 0 ? v - 1 : v) & ((1 << s) - 1);

/** Float 8x8 forward DCT of level-shifted samples, quantised and rounded. */
function fdctQuantised(block: Float64Array): Int32Array {
  const out = new Int32Array(64);
  for (let v = 0; v < 8; v++)
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          sum +=
            (block[y * 8 + x] - 128) *
            Math.cos(((2 * x + 1) * u * Math.PI) / 16) *
            Math.cos(((2 * y + 1) * v * Math.PI) / 16);
      const cu = u ? 1 : Math.SQRT1_2;
      const cv = v ? 1 : Math.SQRT1_2;
      const coef = Math.round((sum * cu * cv) / 4 / QUANT[v * 8 + u]);
      out[v * 8 + u] = Math.max(-1023, Math.min(1023, coef));
    }
  return out;
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

/** A baseline (SOF0) Huffman-coded JPEG of `spec`. */
export function writeJpeg(spec: JpegSpec): Buffer {
  const { width, height, samples, sampling } = spec;
  const nc = sampling.length;
  const hMax = Math.max(...sampling.map(([h]) => h));
  const vMax = Math.max(...sampling.map(([, v]) => v));
  const mcusWide = Math.ceil(width / (8 * hMax));
  const mcusHigh = Math.ceil(height / (8 * vMax));

  // Each component's quantised blocks on the whole-MCU grid; samples are box averages of the full image, and the
  // padding repeats the component's last real column and row.
  const components = sampling.map(([h, v], ci) => {
    const cw = Math.ceil((width * h) / hMax);
    const ch = Math.ceil((height * v) / vMax);
    const hf = hMax / h;
    const vf = vMax / v;
    const sample = (x: number, y: number) => {
      let sum = 0;
      let count = 0;
      for (let dy = 0; dy < vf; dy++)
        for (let dx = 0; dx < hf; dx++) {
          const sx = Math.min(x * hf + dx, width - 1);
          const sy = Math.min(y * vf + dy, height - 1);
          sum += samples[(sy * width + sx) * nc + ci];
          count++;
        }
      return Math.round(sum / count);
    };
    const stride = mcusWide * h;
    const rows = mcusHigh * v;
    const blocks: Int32Array[] = [];
    const block = new Float64Array(64);
    for (let by = 0; by < rows; by++)
      for (let bx = 0; bx < stride; bx++) {
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 8; x++)
            block[y * 8 + x] = sample(Math.min(bx * 8 + x, cw - 1), Math.min(by * 8 + y, ch - 1));
        blocks.push(fdctQuantised(block));
      }
    return { h, v, stride, blocksWide: Math.ceil(cw / 8), blocksHigh: Math.ceil(ch / 8), blocks };
  });

  const out: number[] = [0xff, 0xd8];
  if (spec.adobeTransform !== undefined)
    out.push(...segment(0xee, [...Buffer.from("Adobe"), 0, 100, 0, 0, 0, 0, spec.adobeTransform]));
  out.push(...segment(0xdb, [0, ...ZIGZAG.map((z) => QUANT[z])]));
  const frame = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, nc];
  for (const [i, [h, v]] of sampling.entries()) frame.push(i + 1, (h << 4) | v, 0);
  out.push(...segment(0xc0, frame));
  const counts = (length: number, n: number) =>
    Array.from({ length: 16 }, (_, i) => (i === length - 1 ? n : 0));
  out.push(...segment(0xc4, [0x00, ...counts(4, DC_SYMBOLS.length), ...DC_SYMBOLS]));
  out.push(...segment(0xc4, [0x10, ...counts(8, AC_SYMBOLS.length), ...AC_SYMBOLS]));
  const interval = spec.restartInterval ?? 0;
  if (interval) out.push(...segment(0xdd, [interval >> 8, interval & 0xff]));

  const scans = spec.separateScans ? components.map((_, i) => [i]) : [components.map((_, i) => i)];
  for (const scan of scans) {
    out.push(...segment(0xda, [scan.length, ...scan.flatMap((i) => [i + 1, 0x00]), 0, 63, 0]));
    const bits = new BitWriter();
    const pred = new Array(nc).fill(0);
    const encodeBlock = (ci: number, index: number) => {
      const coefs = components[ci].blocks[index];
      const diff = coefs[0] - pred[ci];
      pred[ci] = coefs[0];
      const s = category(diff);
      bits.write(s, 4);
      bits.write(amplitudeBits(diff, s), s);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const c = coefs[ZIGZAG[k]];
        if (c === 0) {
          run++;
          continue;
        }
        for (; run > 15; run -= 16) bits.write(AC_CODE.get(0xf0)!, 8);
        const size = category(c);
        bits.write(AC_CODE.get((run << 4) | size)!, 8);
        bits.write(amplitudeBits(c, size), size);
        run = 0;
      }
      if (run) bits.write(AC_CODE.get(0x00)!, 8);
    };
    // MCUs of this scan: whole-MCU groups of blocks when interleaved, single real blocks otherwise.
    const mcus: [ci: number, index: number][][] = [];
    if (scan.length === 1) {
      const c = components[scan[0]];
      for (let by = 0; by < c.blocksHigh; by++)
        for (let bx = 0; bx < c.blocksWide; bx++) mcus.push([[scan[0], by * c.stride + bx]]);
    } else
      for (let my = 0; my < mcusHigh; my++)
        for (let mx = 0; mx < mcusWide; mx++)
          mcus.push(
            scan.flatMap((ci) => {
              const { h, v, stride } = components[ci];
              const list: [number, number][] = [];
              for (let y = 0; y < v; y++)
                for (let x = 0; x < h; x++) list.push([ci, (my * v + y) * stride + mx * h + x]);
              return list;
            }),
          );
    mcus.forEach((mcu, n) => {
      if (interval && n > 0 && n % interval === 0) {
        bits.flush();
        bits.bytes.push(0xff, 0xd0 + ((n / interval - 1) & 7));
        pred.fill(0);
      }
      for (const [ci, index] of mcu) encodeBlock(ci, index);
    });
    bits.flush();
    for (const b of bits.bytes) out.push(b);
  }
  out.push(0xff, 0xd9);
  return Buffer.from(out);
}
