/**
 * A JPEG decoder for the one JPEG class browsers cannot decode exactly: four-component (CMYK / YCCK) files.
 * Browsers convert CMYK to RGB inside their decoder with their own rounding, and the ink values that Pillow's
 * conversion needs are gone by then. This decoder returns those inks, computed the way libjpeg-turbo's default
 * decompression computes them (the reference Node path decodes with it through sharp), bit for bit: the
 * integer "islow" IDCT, "fancy" triangle upsampling, YCCK -> CMYK through the same fixed-point tables, and the
 * inversion libvips applies. Huffman-coded baseline, extended and progressive frames of 8-bit samples;
 * arithmetic-coded, lossless and 12-bit frames are refused.
 * Loaded lazily by decode-browser.ts, only when a JPEG's frame header says it has four components.
 */
import type { DecodedSamples } from "./pil-convert.js";

/**
 * Corrupt or unsupported data. The caller turns it into an ImageDecodeError naming the input: this module imports
 * nothing at run time, so that bundlers can load it as a leaf chunk (a lazily loaded module that imported the
 * core package's index would drag all of it, Node-only parts included, into bundles built without splitting).
 */
export class JpegDataError extends Error {
  override name = "JpegDataError";
}

/**
 * Zig-zag position -> natural (row-major) position, with 16 extra entries mapping to 63: a corrupt run length
 * that points past the block lands on the last coefficient, as in libjpeg, instead of outside the block.
 */
const NATURAL_ORDER = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

/** Codes up to this many bits are decoded with one table look-up (most are). */
const LOOKAHEAD = 9;

interface HuffmanTable {
  /** Indexed by the next LOOKAHEAD bits: (code length << 8) | symbol, 0 when the code is longer. */
  lookup: Uint16Array;
  /** maxCode[l]: largest code of length l (1..16), -1 when none. */
  maxCode: Int32Array;
  /** valOffset[l]: index into `values` of the code of length l minus its code value. */
  valOffset: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  quantId: number;
  /** Quantisation table latched at the component's first scan (libjpeg does the same). */
  quant?: Uint16Array;
  /** Samples per line and lines in this component's own (down-sampled) resolution. */
  width: number;
  height: number;
  /** Blocks holding real samples (non-interleaved scans cover exactly these). */
  blocksWide: number;
  blocksHigh: number;
  /** Blocks allocated: whole MCUs (interleaved scans cover these). */
  stride: number;
  coefs: Int16Array;
  dcTable?: HuffmanTable;
  acTable?: HuffmanTable;
  pred: number;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hMax: number;
  vMax: number;
  mcusWide: number;
  mcusHigh: number;
  components: Component[];
}

const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const clamp8 = (v: number) => Math.max(0, Math.min(255, v));

/**
 * Reads entropy-coded bits. A marker ends the segment and zero bits are supplied after it, as libjpeg does;
 * once one of them is consumed, the data ran out early ("premature end of data segment", a warning that the
 * Node path accepts) and `insufficient` tells the scan to leave its remaining MCUs alone, as libjpeg does.
 */
class BitReader {
  pos: number;
  private acc = 0;
  /** Bits in `acc` not consumed yet; the lowest `padding` of them are the zeros supplied after a marker. */
  private bits = 0;
  private padding = 0;
  /** Set once a marker was reached inside the entropy-coded data. */
  marker = false;
  /** Set once a bit past the marker was consumed; cleared at a restart or a new scan. */
  insufficient = false;

  constructor(
    private readonly data: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  private fill(): void {
    let byte = 0;
    while (!this.marker) {
      if (this.pos >= this.data.length)
        throw new JpegDataError("JPEG file is truncated (entropy-coded data ends early)");
      byte = this.data[this.pos];
      if (byte !== 0xff) {
        this.pos++;
        break;
      }
      const next = this.data[this.pos + 1];
      if (next === 0) {
        this.pos += 2; // stuffed 0xFF data byte
        break;
      }
      if (next === 0xff)
        this.pos++; // fill byte before a marker: not data
      else {
        this.marker = true;
        byte = 0;
      }
    }
    this.acc = ((this.acc << 8) | byte) & 0xffffff;
    this.bits += 8;
    if (this.marker) this.padding += 8;
  }

  private consume(n: number): void {
    this.bits -= n;
    if (this.bits < this.padding) this.insufficient = true;
  }

  bit(): number {
    if (this.bits === 0) this.fill();
    this.consume(1);
    return (this.acc >> this.bits) & 1;
  }

  /** `n` bits as an unsigned number (n <= 16). */
  receive(n: number): number {
    while (this.bits < n) this.fill();
    this.consume(n);
    return (this.acc >> this.bits) & ((1 << n) - 1);
  }

  /** `n` bits as a signed difference (JPEG's EXTEND). */
  receiveExtend(n: number): number {
    if (n === 0) return 0;
    if (n > 16) throw new JpegDataError("corrupt JPEG data (coefficient size out of range)");
    const v = this.receive(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  decode(table: HuffmanTable): number {
    while (this.bits < LOOKAHEAD) this.fill();
    let code = (this.acc >> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1);
    const hit = table.lookup[code];
    if (hit) {
      this.consume(hit >> 8);
      return hit & 255;
    }
    this.consume(LOOKAHEAD);
    for (let l = LOOKAHEAD + 1; l <= 16; l++) {
      code = (code << 1) | this.bit();
      if (code <= table.maxCode[l]) return table.values[table.valOffset[l] + code];
    }
    // No code matches: libjpeg consumes a 17th bit and carries on with symbol 0 (a zero DC difference, or
    // end of block), and the Node path accepts its output, so the same happens here.
    this.bit();
    return 0;
  }

  /** Drops the bits left in the byte and moves to the next marker (restart or end of scan). */
  reset(): void {
    this.acc = 0;
    this.bits = 0;
    this.padding = 0;
    this.marker = false;
    this.insufficient = false;
  }
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    valOffset[l] = k - code;
    if (l <= LOOKAHEAD)
      for (let i = 0; i < n; i++) {
        const first = (code + i) << (LOOKAHEAD - l);
        lookup.fill((l << 8) | values[k + i], first, first + (1 << (LOOKAHEAD - l)));
      }
    code += n;
    k += n;
    if (n) maxCode[l] = code - 1;
    // libjpeg refuses a table whose codes of some length run out (the all-ones code is not allowed).
    if (code >= 1 << l) throw new JpegDataError("corrupt JPEG Huffman table");
    code <<= 1;
  }
  if (k > values.length) throw new JpegDataError("corrupt JPEG Huffman table");
  return { lookup, maxCode, valOffset, values };
}

/** Where the next marker starts at or after `o` (skipping entropy-coded bytes and stuffed 0xFF00). */
function nextMarker(b: Uint8Array, o: number): number {
  while (o + 1 < b.length && !(b[o] === 0xff && b[o + 1] !== 0 && b[o + 1] !== 0xff)) o++;
  return o;
}

// libjpeg's jidctint.c constants: FIX(x) = round(x * 2^13).
const CONST_BITS = 13;
const PASS1_BITS = 2;
const F_0_298 = 2446;
const F_0_390 = 3196;
const F_0_541 = 4433;
const F_0_765 = 6270;
const F_0_899 = 7373;
const F_1_175 = 9633;
const F_1_501 = 12299;
const F_1_847 = 15137;
const F_1_961 = 16069;
const F_2_053 = 16819;
const F_2_562 = 20995;
const F_3_072 = 25172;

/**
 * One 8-point pass of the accurate integer IDCT (Loeffler-Ligtenberg-Moschytz with libjpeg's 13-bit constants):
 * `x` in, `t` out, both in natural order, `t` still scaled by 2^CONST_BITS (each pass descales its own way).
 * The sums that libjpeg-turbo's SIMD code forms in 16-bit lanes wrap as they do there; they only can for the
 * wild coefficients of corrupt data, which the Node path decodes without complaint.
 */
function idct8(x: Int32Array, t: Int32Array): void {
  // Even part.
  let z1 = (x[2] + x[6]) * F_0_541;
  const e2 = z1 - x[6] * F_1_847;
  const e3 = z1 + x[2] * F_0_765;
  const e0 = wrap16(x[0] + x[4]) * 8192;
  const e1 = wrap16(x[0] - x[4]) * 8192;
  const tmp10 = e0 + e3;
  const tmp13 = e0 - e3;
  const tmp11 = e1 + e2;
  const tmp12 = e1 - e2;
  // Odd part.
  let tmp0 = x[7];
  let tmp1 = x[5];
  let tmp2 = x[3];
  let tmp3 = x[1];
  z1 = tmp0 + tmp3;
  let z2 = tmp1 + tmp2;
  let z3 = wrap16(tmp0 + tmp2);
  let z4 = wrap16(tmp1 + tmp3);
  const z5 = (z3 + z4) * F_1_175;
  tmp0 *= F_0_298;
  tmp1 *= F_2_053;
  tmp2 *= F_3_072;
  tmp3 *= F_1_501;
  z1 *= -F_0_899;
  z2 *= -F_2_562;
  z3 = z3 * -F_1_961 + z5;
  z4 = z4 * -F_0_390 + z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;
  t[0] = tmp10 + tmp3;
  t[7] = tmp10 - tmp3;
  t[1] = tmp11 + tmp2;
  t[6] = tmp11 - tmp2;
  t[2] = tmp12 + tmp1;
  t[5] = tmp12 - tmp1;
  t[3] = tmp13 + tmp0;
  t[4] = tmp13 - tmp0;
}

/** Scratch for idctBlock (the decoder runs synchronously, one block at a time). */
const IDCT_IN = new Int32Array(8);
const IDCT_OUT = new Int32Array(8);

/**
 * Dequantises one block and inverse-transforms it with libjpeg's rounding, so that output samples equal
 * libjpeg-turbo's default JDCT_ISLOW exactly: columns first, kept with PASS1_BITS extra bits in `ws`, then rows,
 * descaled, level-shifted by 128 and clamped. As in its SIMD versions (x86 and Arm), dequantised values wrap to
 * 16 bits and the column results saturate to 16 bits; its plain C version differs from them (and from this)
 * only on corrupt data.
 */
function idctBlock(
  coefs: Int16Array,
  at: number,
  quant: Uint16Array,
  ws: Int32Array,
  out: Uint8Array,
  outAt: number,
  outStride: number,
): void {
  const x = IDCT_IN;
  const t = IDCT_OUT;
  const shift1 = CONST_BITS - PASS1_BITS;
  for (let c = 0; c < 8; c++) {
    for (let i = 0; i < 8; i++) x[i] = wrap16(coefs[at + i * 8 + c] * quant[i * 8 + c]);
    idct8(x, t);
    for (let i = 0; i < 8; i++) ws[i * 8 + c] = saturate16((t[i] + (1 << (shift1 - 1))) >> shift1);
  }
  const shift2 = CONST_BITS + PASS1_BITS + 3;
  for (let r = 0; r < 8; r++) {
    for (let i = 0; i < 8; i++) x[i] = ws[r * 8 + i];
    idct8(x, t);
    const o = outAt + r * outStride;
    for (let i = 0; i < 8; i++) out[o + i] = clampSample((t[i] + (1 << (shift2 - 1))) >> shift2);
  }
}

const wrap16 = (v: number) => (v << 16) >> 16;
const saturate16 = (v: number) => Math.max(-32768, Math.min(32767, v));

/** Level shift and saturate (libjpeg-turbo's SIMD IDCTs saturate; its C table wraps, for |x| > 512 only). */
function clampSample(x: number): number {
  return clamp8(x + 128);
}

interface Scan {
  components: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

/** Decodes one scan's entropy-coded data starting at `start`; returns where its data ends. */
function decodeScan(
  data: Uint8Array,
  start: number,
  frame: Frame,
  scan: Scan,
  restartInterval: number,
): number {
  const reader = new BitReader(data, start);
  const { components, ss, se, ah, al } = scan;
  const progressive = frame.progressive;
  let eobrun = 0;

  const decodeBlock = (c: Component, at: number): void => {
    const block = c.coefs;
    if (!progressive) {
      const t = reader.decode(c.dcTable!);
      c.pred += reader.receiveExtend(t);
      block[at] = c.pred;
      for (let k = 1; k < 64; k++) {
        const rs = reader.decode(c.acTable!);
        const s = rs & 15;
        const r = rs >> 4;
        if (s === 0) {
          if (r < 15) break;
          k += 15;
          continue;
        }
        k += r;
        block[at + NATURAL_ORDER[k]] = reader.receiveExtend(s);
      }
    } else if (ss === 0) {
      // DC scans: first pass (difference, shifted by Al) or one refinement bit.
      if (ah === 0) {
        const t = reader.decode(c.dcTable!);
        c.pred += reader.receiveExtend(t);
        block[at] = c.pred * (1 << al);
      } else if (reader.bit()) block[at] |= 1 << al;
    } else if (ah === 0) {
      // AC first pass, with end-of-band runs spanning blocks.
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      for (let k = ss; k <= se; k++) {
        const rs = reader.decode(c.acTable!);
        const s = rs & 15;
        const r = rs >> 4;
        if (s === 0) {
          if (r < 15) {
            eobrun = (1 << r) - 1 + (r ? reader.receive(r) : 0);
            break;
          }
          k += 15;
          continue;
        }
        k += r;
        block[at + NATURAL_ORDER[k]] = reader.receiveExtend(s) * (1 << al);
      }
    } else {
      eobrun = refineAc(reader, c.acTable!, block, at, ss, se, al, eobrun);
    }
  };

  const restart = (): void => {
    // Align to the marker: it must be RSTn; libjpeg resynchronises on others, here they end the scan early.
    reader.reset();
    const m = nextMarker(data, reader.pos);
    if (m + 1 < data.length && data[m + 1] >= 0xd0 && data[m + 1] <= 0xd7) reader.pos = m + 2;
    else reader.pos = m;
    for (const c of components) c.pred = 0;
    eobrun = 0;
  };

  if (components.length === 1) {
    // Non-interleaved: each MCU is one block, over the blocks that hold real samples.
    const c = components[0];
    const total = c.blocksWide * c.blocksHigh;
    for (let n = 0; n < total; n++) {
      if (restartInterval && n > 0 && n % restartInterval === 0) restart();
      if (reader.insufficient) continue;
      const by = Math.floor(n / c.blocksWide);
      const bx = n % c.blocksWide;
      decodeBlock(c, (by * c.stride + bx) * 64);
    }
  } else {
    const total = frame.mcusWide * frame.mcusHigh;
    for (let n = 0; n < total; n++) {
      if (restartInterval && n > 0 && n % restartInterval === 0) restart();
      if (reader.insufficient) continue; // libjpeg skips the rest of the interval after running out of data
      const my = Math.floor(n / frame.mcusWide);
      const mx = n % frame.mcusWide;
      for (const c of components)
        for (let v = 0; v < c.v; v++)
          for (let h = 0; h < c.h; h++) decodeBlock(c, ((my * c.v + v) * c.stride + mx * c.h + h) * 64);
    }
  }
  reader.reset();
  return nextMarker(data, reader.pos);
}

/**
 * Progressive AC refinement (ISO 10918-1 G.1.2.3): one more bit for every nonzero coefficient in the band, and
 * new coefficients of magnitude 1 << al. Returns the end-of-band run left for the following blocks.
 */
function refineAc(
  reader: BitReader,
  table: HuffmanTable,
  block: Int16Array,
  at: number,
  ss: number,
  se: number,
  al: number,
  eobrun: number,
): number {
  const p1 = 1 << al;
  const m1 = -1 << al;
  const correct = (pos: number) => {
    const coef = block[pos];
    if (reader.bit() && (coef & p1) === 0) block[pos] = coef >= 0 ? coef + p1 : coef + m1;
  };
  let k = ss;
  if (eobrun === 0) {
    for (; k <= se; k++) {
      const rs = reader.decode(table);
      let r = rs >> 4;
      let s = rs & 15;
      if (s) s = reader.bit() ? p1 : m1;
      else if (r !== 15) {
        eobrun = (1 << r) + (r ? reader.receive(r) : 0);
        break;
      }
      // Skip r zero coefficients (refining the nonzero ones passed on the way), then place the new one.
      while (k <= se) {
        const pos = at + NATURAL_ORDER[k];
        if (block[pos] !== 0) correct(pos);
        else if (--r < 0) break;
        k++;
      }
      if (s) block[at + NATURAL_ORDER[k]] = s;
    }
  }
  if (eobrun > 0) {
    for (; k <= se; k++) {
      const pos = at + NATURAL_ORDER[k];
      if (block[pos] !== 0) correct(pos);
    }
    eobrun--;
  }
  return eobrun;
}

/** The four-component JPEG's frame, scans and Adobe marker, decoded to quantised coefficients. */
function readJpeg(b: Uint8Array): { frame: Frame; adobeTransform: number | undefined } {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new JpegDataError(`not a JPEG file (no SOI marker)`);
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | undefined;
  let adobeTransform: number | undefined;
  let restartInterval = 0;
  let scans = 0;
  let o = 2;
  const truncated = () => new JpegDataError(`JPEG file is truncated`);
  for (;;) {
    // The Node path (libvips) refuses a file that ends before its EOI marker, even after complete scans.
    if (o + 1 >= b.length) throw truncated();
    if (b[o] !== 0xff) {
      o = nextMarker(b, o); // stray bytes between markers (libjpeg warns and skips them)
      continue;
    }
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++;
      continue;
    }
    o += 2;
    if (marker === 0xd9) {
      if (!frame || scans === 0) throw new JpegDataError(`JPEG file has no image data`);
      return { frame, adobeTransform };
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (o + 2 > b.length) throw truncated();
    const length = u16(b, o);
    const end = o + length;
    if (length < 2 || end > b.length) throw truncated();
    const seg = b.subarray(o + 2, end);
    switch (marker) {
      case 0xdb: {
        for (let p = 0; p < seg.length; ) {
          const wide = seg[p] >> 4;
          const id = seg[p] & 15;
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++)
            table[NATURAL_ORDER[k]] = wide ? u16(seg, p + 1 + 2 * k) : seg[p + 1 + k];
          quant[id] = table;
          p += 1 + (wide ? 128 : 64);
        }
        break;
      }
      case 0xc4: {
        for (let p = 0; p < seg.length; ) {
          const counts = seg.subarray(p + 1, p + 17);
          const total = counts.reduce((a, n) => a + n, 0);
          const table = buildHuffman(counts, seg.slice(p + 17, p + 17 + total));
          (seg[p] >> 4 ? acTables : dcTables)[seg[p] & 15] = table;
          p += 17 + total;
        }
        break;
      }
      case 0xdd:
        restartInterval = u16(seg, 0);
        break;
      case 0xee:
        // Adobe APP14: "Adobe", version, flags0, flags1, transform (libjpeg needs all 12 bytes).
        if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe")
          adobeTransform = seg[11];
        break;
      case 0xda: {
        if (!frame) throw new JpegDataError(`JPEG scan before the frame header`);
        const n = seg[0];
        const components: Component[] = [];
        for (let i = 0; i < n; i++) {
          const c = frame.components.find((x) => x.id === seg[1 + 2 * i]);
          if (!c) throw new JpegDataError(`JPEG scan names an unknown component`);
          c.dcTable = dcTables[seg[2 + 2 * i] >> 4];
          c.acTable = acTables[seg[2 + 2 * i] & 15];
          c.quant ??= quant[c.quantId];
          if (!c.quant) throw new JpegDataError(`JPEG component without a quantisation table`);
          components.push(c);
        }
        const p = 1 + 2 * n;
        const scan: Scan = {
          components,
          ss: seg[p],
          se: seg[p + 1],
          ah: seg[p + 2] >> 4,
          al: seg[p + 2] & 15,
        };
        if (!frame.progressive) Object.assign(scan, { ss: 0, se: 63, ah: 0, al: 0 });
        const needsAc = !frame.progressive || scan.ss > 0;
        const needsDc = !frame.progressive || (scan.ss === 0 && scan.ah === 0);
        if (components.some((c) => (needsAc && !c.acTable) || (needsDc && !c.dcTable)))
          throw new JpegDataError(`JPEG scan uses an undefined Huffman table`);
        if (n > 1 && components.reduce((sum, c) => sum + c.h * c.v, 0) > 10)
          throw new JpegDataError(`JPEG sampling factors too large for an interleaved scan`);
        if (scan.se > 63 || scan.ss > scan.se) throw new JpegDataError(`corrupt JPEG scan header`);
        for (const c of components) c.pred = 0;
        o = decodeScan(b, end, frame, scan, restartInterval);
        scans++;
        continue;
      }
      default:
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8 && marker !== 0xcc) {
          if (frame) throw new JpegDataError(`JPEG file has more than one frame`);
          frame = readFrame(marker, seg);
        }
    }
    o = end;
  }
}

function readFrame(marker: number, seg: Uint8Array): Frame {
  if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
    const kind =
      marker === 0xc3 || marker === 0xcb ? "lossless" : marker >= 0xc9 ? "arithmetic-coded" : "hierarchical";
    throw new JpegDataError(`${kind} JPEG (SOF 0x${marker.toString(16)}) is not supported`);
  }
  if (seg[0] !== 8) throw new JpegDataError(`${seg[0]}-bit JPEG samples are not supported`);
  const height = u16(seg, 1);
  const width = u16(seg, 3);
  const n = seg[5];
  if (!width || !height) throw new JpegDataError(`JPEG frame has no usable size`);
  if (n !== 4) throw new JpegDataError(`expected a four-component JPEG, found ${n} components`);
  const specs = Array.from({ length: n }, (_, i) => ({
    id: seg[6 + 3 * i],
    h: seg[7 + 3 * i] >> 4,
    v: seg[7 + 3 * i] & 15,
    quantId: seg[8 + 3 * i],
  }));
  if (specs.some((s) => s.h < 1 || s.h > 4 || s.v < 1 || s.v > 4))
    throw new JpegDataError(`corrupt JPEG sampling factors`);
  const hMax = Math.max(...specs.map((s) => s.h));
  const vMax = Math.max(...specs.map((s) => s.v));
  const mcusWide = Math.ceil(width / (8 * hMax));
  const mcusHigh = Math.ceil(height / (8 * vMax));
  const components = specs.map((s): Component => {
    const cw = Math.ceil((width * s.h) / hMax);
    const ch = Math.ceil((height * s.v) / vMax);
    const stride = mcusWide * s.h;
    return {
      ...s,
      width: cw,
      height: ch,
      blocksWide: Math.ceil(cw / 8),
      blocksHigh: Math.ceil(ch / 8),
      stride,
      coefs: new Int16Array(stride * mcusHigh * s.v * 64),
      pred: 0,
    };
  });
  return { progressive: marker === 0xc2, width, height, hMax, vMax, mcusWide, mcusHigh, components };
}

/** Dequantises and inverse-transforms every block of a component into a plane of `stride * 8` samples a row. */
function componentPlane(c: Component): Uint8Array {
  const rowSamples = c.stride * 8;
  const rows = c.coefs.length / 64 / c.stride;
  const plane = new Uint8Array(rowSamples * rows * 8);
  const ws = new Int32Array(64);
  for (let by = 0; by < rows; by++)
    for (let bx = 0; bx < c.stride; bx++)
      idctBlock(
        c.coefs,
        (by * c.stride + bx) * 64,
        c.quant!,
        ws,
        plane,
        by * 8 * rowSamples + bx * 8,
        rowSamples,
      );
  return plane;
}

/**
 * One component at full resolution, the way libjpeg-turbo's jdsample.c upsamples by default: "fancy" triangle
 * filters for 2x horizontal (when more than 2 samples wide), 2x vertical and 2x2, replication for other integer
 * ratios; rows past the component's last real row repeat it (jdmainct.c's context rows).
 */
function upsample(c: Component, frame: Frame, plane: Uint8Array): Uint8Array {
  const { width, height, hMax, vMax } = frame;
  const stride = c.stride * 8;
  const out = new Uint8Array(width * height);
  const hf = hMax / c.h;
  const vf = vMax / c.v;
  if (!Number.isInteger(hf) || !Number.isInteger(vf))
    throw new JpegDataError(`JPEG sampling factors with a fractional ratio are not supported`);
  const lastRow = c.height - 1;
  const lastCol = c.width - 1;
  const at = (x: number, y: number) => plane[y * stride + x];
  const fancyH = hf === 2 && c.width > 2;
  // 2x vertical is fancy unless the 2x2 case falls back to replication for narrow components.
  const fancyV = vf === 2 && (hf === 1 || fancyH);
  for (let y = 0; y < height; y++) {
    const iy = Math.floor(y / vf);
    // Fancy vertical: the nearer neighbour row is weighted 3, the farther 1.
    const far = y & 1 ? Math.min(iy + 1, lastRow) : Math.max(iy - 1, 0);
    const o = y * width;
    for (let x = 0; x < width; x++) {
      if (hf === 1 && vf === 1) out[o + x] = at(x, y);
      else if (fancyH && fancyV) {
        const ix = x >> 1;
        const col = (i: number) => 3 * at(i, iy) + at(i, far);
        const other = x & 1 ? Math.min(ix + 1, lastCol) : Math.max(ix - 1, 0);
        out[o + x] = (3 * col(ix) + col(other) + (x & 1 ? 7 : 8)) >> 4;
      } else if (fancyH && vf === 1) {
        const ix = x >> 1;
        const other = x & 1 ? Math.min(ix + 1, lastCol) : Math.max(ix - 1, 0);
        out[o + x] = (3 * at(ix, y) + at(other, y) + (x & 1 ? 2 : 1)) >> 2;
      } else if (fancyV && hf === 1) {
        out[o + x] = (3 * at(x, iy) + at(x, far) + (y & 1 ? 2 : 1)) >> 2;
      } else out[o + x] = at(Math.floor(x / hf), iy);
    }
  }
  return out;
}

/** libjpeg's YCC -> RGB fixed-point tables (16 fraction bits), as its YCCK -> CMYK conversion uses them. */
function yccTables() {
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  const half = 1 << 15;
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (fix(1.402) * x + half) >> 16;
    cbB[i] = (fix(1.772) * x + half) >> 16;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + half;
  }
  return { crR, cbB, crG, cbG };
}

/**
 * Decodes a four-component JPEG to its ink values (CMYK, 0 = no ink), as the Node path reads them from libvips:
 * libjpeg's CMYK output (YCCK converted when the Adobe marker says so), inverted whether or not an Adobe marker
 * is present (libvips, like Pillow's "CMYK;I" raw mode, assumes the inverted CMYK Adobe applications write).
 * The caller checks the pixel limit first, from the same (first) frame header. Throws JpegDataError.
 */
export function decodeJpegInks(bytes: Uint8Array): DecodedSamples {
  const { frame, adobeTransform } = readJpeg(bytes);
  const { width, height } = frame;
  // libjpeg: no Adobe marker means plain CMYK, transform 0 CMYK; it takes any other code for YCCK (with a
  // warning, which the Node path tolerates).
  const ycck = adobeTransform !== undefined && adobeTransform !== 0;
  const planes = frame.components.map((c) => upsample(c, frame, componentPlane(c)));
  const n = width * height;
  const samples = new Uint8Array(n * 4);
  const t = ycck ? yccTables() : undefined;
  const [p0, p1, p2, p3] = planes;
  for (let i = 0; i < n; i++) {
    let c = p0[i];
    let m = p1[i];
    let y = p2[i];
    if (t) {
      const luma = c;
      const cb = m;
      const cr = y;
      c = clamp8(255 - (luma + t.crR[cr]));
      m = clamp8(255 - (luma + ((t.cbG[cb] + t.crG[cr]) >> 16)));
      y = clamp8(255 - (luma + t.cbB[cb]));
    }
    const o = i * 4;
    samples[o] = 255 - c;
    samples[o + 1] = 255 - m;
    samples[o + 2] = 255 - y;
    samples[o + 3] = 255 - p3[i];
  }
  return { width, height, model: "cmyk", channels: 4, samples };
}
