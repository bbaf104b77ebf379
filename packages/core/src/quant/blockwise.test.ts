import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { GraphBuilder, serializeModel } from "../onnx/builder.js";
import { createSession, ortFor } from "../runtime/ort.js";
import { pseudoRandom } from "../testing.js";
import { type BlockQuantization, dequantizeBlockwise, quantizeBlockwise } from "./blockwise.js";

/** y = x @ W^T through onnxruntime's MatMulNBits on the quantized bytes. */
async function matMulNBits(
  x: Float32Array,
  m: number,
  q: ReturnType<typeof quantizeBlockwise>,
  accuracyLevel = 0,
) {
  const g = new GraphBuilder("q");
  const input = g.input("x", "float32", [m, q.cols]);
  const b = g.initializer("b", "uint8", [q.rows, q.kBlocks, q.blobSize], q.data);
  const s = g.initializer("s", "float32", [q.rows, q.kBlocks], q.scales);
  const attrs = {
    K: q.cols,
    N: q.rows,
    bits: q.bits,
    block_size: q.blockSize,
    accuracy_level: accuracyLevel,
  };
  g.output(
    g.op("MatMulNBits", [input, b, s], attrs, { domain: "com.microsoft" }),
    "float32",
    [m, q.rows],
    "y",
  );
  const ort = await ortFor();
  const session = await createSession(serializeModel(g));
  try {
    const out = await session.run({ x: new ort.Tensor("float32", x, [m, q.cols]) });
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("quantizeBlockwise", () => {
  const cases: [BlockQuantization, number, number][] = [
    [{ bits: 4, blockSize: 32 }, 24, 64],
    [{ bits: 4, blockSize: 32 }, 7, 40], // K not a multiple of the block: padded
    [{ bits: 8, blockSize: 64 }, 16, 160],
    [{ bits: 8, blockSize: 128 }, 5, 100],
    [{ bits: 4, blockSize: 16 }, 3, 16],
  ];
  for (const [q, rows, cols] of cases)
    it(`${q.bits} bits, block ${q.blockSize}, [${rows}, ${cols}]: onnxruntime reads the bytes as we dequantize them`, async () => {
      const w = pseudoRandom(rows * cols, rows + cols, 0.5);
      const quantized = quantizeBlockwise(w, rows, cols, q);
      const deq = dequantizeBlockwise(quantized);
      // Half a step at most, except at the top of the range: the block's extreme sits on the lowest code
      // (-2^(bits-1)), so a weight near minus it clamps to the highest (2^(bits-1) - 1), one step short.
      for (let r = 0; r < rows; r++)
        for (let k = 0; k < cols; k++) {
          const scale = Math.abs(quantized.scales[r * quantized.kBlocks + Math.floor(k / q.blockSize)]);
          const error = Math.abs(deq[r * cols + k] - w[r * cols + k]);
          const clamped = Math.abs(w[r * cols + k]) > (2 ** (q.bits - 1) - 0.5) * scale;
          expect(error).toBeLessThanOrEqual((clamped ? 1 : 0.5) * scale + 1e-7);
        }
      const m = 3;
      const x = pseudoRandom(m * cols, 7, 1);
      const y = await matMulNBits(x, m, quantized);
      for (let i = 0; i < m; i++)
        for (let n = 0; n < rows; n++) {
          let want = 0;
          for (let k = 0; k < cols; k++) want += x[i * cols + k] * deq[n * cols + k];
          expect(y[i * rows + n]).toBeCloseTo(want, 4);
        }
    });

  it("maps each block's largest-magnitude weight exactly and keeps zero blocks zero", () => {
    const w = Float32Array.from([0.5, -2, 1, 0.25, ...new Array(12).fill(0), ...new Array(16).fill(0)]);
    const q = quantizeBlockwise(w, 1, 32, { bits: 4, blockSize: 16 });
    expect(Array.from(q.scales)).toEqual([0.25, 0]); // -2 / -8
    const deq = dequantizeBlockwise(q);
    expect(deq[1]).toBe(-2);
    expect(deq[0]).toBe(0.5);
    expect(Array.from(deq.subarray(16))).toEqual(new Array(16).fill(0));
    // codes packed low nibble first: 0.5 -> 2 + 8 = 10, -2 -> 0
    expect(q.data[0]).toBe(10 | (0 << 4));
  });

  it("refuses bits and block sizes MatMulNBits does not take", () => {
    const w = new Float32Array(32);
    expect(() => quantizeBlockwise(w, 1, 32, { bits: 3 as 4, blockSize: 32 })).toThrow(InvalidArgumentError);
    expect(() => quantizeBlockwise(w, 1, 32, { bits: 4, blockSize: 24 })).toThrow(/power of two/);
    expect(() => quantizeBlockwise(w, 2, 32, { bits: 4, blockSize: 32 })).toThrow(/64 values/);
  });
});
