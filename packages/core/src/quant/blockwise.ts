import { InvalidArgumentError } from "../errors.js";
import type { GraphBuilder } from "../onnx/builder.js";

/** Bits per weight of a block-quantized matrix: onnxruntime's MatMulNBits takes 4 and 8 on every provider. */
export type QuantBits = 4 | 8;

/**
 * MatMulNBits' accuracy_level: 0 computes in fp32 on the dequantized weights; 4 quantizes the activations to
 * int8 per block, which is onnxruntime's fast CPU path (its only one for 8-bit weights).
 */
export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

export function checkAccuracyLevel(level: number): void {
  if (![0, 1, 2, 3, 4].includes(level))
    throw new InvalidArgumentError(`accuracy level must be 0-4, got ${level}`);
}

export interface BlockQuantization {
  bits: QuantBits;
  /** Weights per scale along K; a power of two >= 16 (MatMulNBits' rule). */
  blockSize: number;
}

/**
 * A [rows, cols] matrix quantized along its rows in blocks of `blockSize`, laid out as onnxruntime's
 * MatMulNBits wants its B input: rows = N (outputs), cols = K (inputs), `data` [N, kBlocks, blobSize] with
 * codes packed low bits first, `scales` [N, kBlocks]. Symmetric: no zero points are stored, so the
 * operator's default 2^(bits-1) applies and a weight is (code - 2^(bits-1)) * scale. K is padded with zeros
 * up to a whole block (e.g. Mamba-2.8B's dt_proj has K = 160).
 */
export interface BlockQuantized extends BlockQuantization {
  rows: number;
  cols: number;
  kBlocks: number;
  blobSize: number;
  data: Uint8Array;
  scales: Float32Array;
}

/**
 * The block size a dtype gets when none is asked for: 128 weights for 4-bit, 32 for 8-bit. Measured on
 * Mamba-2.8B (BENCHMARKS.md): at 4 bits the sixteen levels dominate the error, and blocks of 128 instead of 32
 * raise the KL divergence by 6% while Cobra-3.5B's q4 LM decodes 1.2-1.5x faster in 0.7 GB less memory (fewer
 * scales and block sums to pack and apply); at 8 bits the block dominates (accuracy level 4 quantizes the
 * activations per block too), and 128 would nearly double it. 128 is also onnxruntime's quantizer's and GPTQ's
 * usual 4-bit group; 32 is llama.cpp's Q8_0 block.
 */
export function defaultBlockSize(bits: QuantBits): number {
  return bits === 4 ? 128 : 32;
}

export function checkBlockQuantization(q: BlockQuantization): void {
  if (q.bits !== 4 && q.bits !== 8) throw new InvalidArgumentError(`bits must be 4 or 8, got ${q.bits}`);
  const b = q.blockSize;
  if (!Number.isInteger(b) || b < 16 || (b & (b - 1)) !== 0)
    throw new InvalidArgumentError(`block size must be a power of two of at least 16, got ${b}`);
}

/** The sizes of `rows` x `cols` quantized with `q`. */
export function blockLayout(rows: number, cols: number, q: BlockQuantization) {
  const kBlocks = Math.ceil(cols / q.blockSize);
  const blobSize = (q.blockSize * q.bits) / 8;
  return { kBlocks, blobSize, dataBytes: rows * kBlocks * blobSize, scaleCount: rows * kBlocks };
}

/**
 * Quantizes row-major `w` [rows, cols]. Each block's scale maps its largest-magnitude weight exactly onto the
 * most negative code (-2^(bits-1)), as llama.cpp's Q4_0/Q8_0 and onnxruntime's symmetric quantizer do, so the
 * full signed range is used and that weight round-trips exactly.
 */
export function quantizeBlockwise(
  w: Float32Array,
  rows: number,
  cols: number,
  q: BlockQuantization,
): BlockQuantized {
  checkBlockQuantization(q);
  if (w.length !== rows * cols)
    throw new InvalidArgumentError(`a [${rows}, ${cols}] matrix has ${rows * cols} values, got ${w.length}`);
  const { bits, blockSize } = q;
  const { kBlocks, blobSize, dataBytes, scaleCount } = blockLayout(rows, cols, q);
  const data = new Uint8Array(dataBytes);
  const scales = new Float32Array(scaleCount);
  const zero = 1 << (bits - 1);
  const maxCode = (1 << bits) - 1;
  const codes = new Uint8Array(blockSize);
  for (let r = 0; r < rows; r++) {
    const rowStart = r * cols;
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, cols);
      let extreme = 0;
      for (let k = k0; k < k1; k++) {
        const v = w[rowStart + k];
        if (Math.abs(v) > Math.abs(extreme)) extreme = v;
      }
      const scale = extreme === 0 ? 0 : Math.fround(extreme / -zero);
      const inverse = scale === 0 ? 0 : 1 / scale;
      codes.fill(zero);
      for (let k = k0; k < k1; k++) {
        const c = Math.round(w[rowStart + k] * inverse) + zero;
        codes[k - k0] = c < 0 ? 0 : c > maxCode ? maxCode : c;
      }
      scales[r * kBlocks + b] = scale;
      const out = (r * kBlocks + b) * blobSize;
      if (bits === 8) data.set(codes, out);
      else for (let j = 0; j < blobSize; j++) data[out + j] = codes[2 * j] | (codes[2 * j + 1] << 4);
    }
  }
  return { bits, blockSize, rows, cols, kBlocks, blobSize, data, scales };
}

/**
 * Row `row` of a quantized matrix back in fp32, into `out` (cols floats), from the row's code bytes
 * (kBlocks x blobSize) and scales (kBlocks): what an embedding lookup reads from the tied head's bytes.
 */
export function dequantizeRowInto(
  codes: Uint8Array,
  scales: Float32Array,
  cols: number,
  q: BlockQuantization,
  out: Float32Array,
): void {
  const { bits, blockSize } = q;
  const zero = 1 << (bits - 1);
  const blobSize = (blockSize * bits) / 8;
  for (let k = 0; k < cols; k++) {
    const b = (k / blockSize) | 0;
    const i = k - b * blockSize;
    const byte = codes[b * blobSize + (bits === 8 ? i : i >> 1)];
    const code = bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15;
    out[k] = (code - zero) * scales[b];
  }
}

/** The whole matrix back in fp32 [rows, cols] (tests; the float64 reference runs on these weights). */
export function dequantizeBlockwise(m: BlockQuantized): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  const rowBytes = m.kBlocks * m.blobSize;
  for (let r = 0; r < m.rows; r++)
    dequantizeRowInto(
      m.data.subarray(r * rowBytes, (r + 1) * rowBytes),
      m.scales.subarray(r * m.kBlocks, (r + 1) * m.kBlocks),
      m.cols,
      m,
      out.subarray(r * m.cols, (r + 1) * m.cols),
    );
  return out;
}

/** The initializers holding block-quantized weight `name`: codes [N, kBlocks, blobSize] and scales [N, kBlocks]. */
export function quantizedWeightNames(name: string): { codes: string; scales: string } {
  return { codes: `${name}.codes`, scales: `${name}.scales` };
}

/**
 * x [..., K] @ W^T for a weight W [N, K] stored block-quantized under quantizedWeightNames(weight), as
 * onnxruntime's MatMulNBits (com.microsoft), which pads K to a whole block itself. No bias: add it after.
 */
export function emitMatMulNBits(
  g: GraphBuilder,
  x: string,
  weight: string,
  dims: { K: number; N: number },
  q: BlockQuantization & { accuracyLevel: AccuracyLevel },
  name?: string,
): string {
  const { codes, scales } = quantizedWeightNames(weight);
  return g.op(
    "MatMulNBits",
    [x, codes, scales],
    { K: dims.K, N: dims.N, bits: q.bits, block_size: q.blockSize, accuracy_level: q.accuracyLevel },
    { domain: "com.microsoft", name },
  );
}
