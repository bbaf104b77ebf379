import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { GraphBuilder, serializeModel } from "../onnx/builder.js";
import { inlineInitializers } from "../onnx/initializer-sink.js";
import { createSession, ortFor } from "../runtime/ort.js";
import { f16ToF32 } from "../tensor.js";
import {
  checkLinearQuantization,
  float32ToFloat16Bits,
  type LinearQuantization,
  linearQuantizationFor,
  linearQuantizationMetadata,
  storeFloatWeight,
} from "./linear-storage.js";

describe("float32ToFloat16Bits", () => {
  it("gives IEEE half bits, rounding to nearest even, with subnormals, overflow and signs", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // largest half
      [65520, 0x7c00], // rounds up past it: infinity
      [1 / 3, 0x3555],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -26, 0x0000], // below half of it: zero
      [1 + 2 ** -11, 0x3c00], // a tie rounds to the even mantissa (down)
      [1 + 3 * 2 ** -11, 0x3c02], // a tie rounds to the even mantissa (up)
      [-0, 0x8000],
    ];
    const bits = float32ToFloat16Bits(Float32Array.from(cases.map(([v]) => v)));
    expect(Array.from(bits)).toEqual(cases.map(([, b]) => b));
    expect(Array.from(f16ToF32(bits.subarray(0, 3)))).toEqual([1, -2, 65504]);
  });
});

describe("linearQuantizationFor", () => {
  it("maps the dtype names to their storage", () => {
    expect(linearQuantizationFor("fp32")).toBeNull();
    expect(linearQuantizationFor("fp16")).toEqual({ dtype: "fp16", method: "float16" });
    expect(linearQuantizationFor("q8")).toEqual({
      dtype: "q8",
      method: "matmul-nbits",
      bits: 8,
      blockSize: 32,
      accuracyLevel: 4,
    });
    expect(linearQuantizationFor("q4")).toMatchObject({ bits: 4, blockSize: 128, accuracyLevel: 4 });
    expect(linearQuantizationFor("q4", { blockSize: 64, accuracyLevel: 0 })).toMatchObject({
      bits: 4,
      blockSize: 64,
      accuracyLevel: 0,
    });
    expect(linearQuantizationMetadata(linearQuantizationFor("q4"))["cobra.dtype"]).toBe("q4");
    expect(linearQuantizationMetadata(null)).toEqual({ "cobra.dtype": "fp32", "cobra.quantization": "null" });
  });

  it("refuses unknown names, bad blocks and storages that contradict their dtype", () => {
    expect(() => linearQuantizationFor("q4f16")).toThrow(/one of fp32, fp16, q8, q4/);
    expect(() => linearQuantizationFor("int8")).toThrow(InvalidArgumentError);
    expect(() => linearQuantizationFor("q8", { blockSize: 48 })).toThrow(/power of two/);
    expect(() => linearQuantizationFor("q8", { accuracyLevel: 5 as 4 })).toThrow(/accuracy level/);
    const bad = { dtype: "q8", method: "matmul-nbits", bits: 4, blockSize: 32, accuracyLevel: 4 };
    expect(() => checkLinearQuantization(bad as LinearQuantization)).toThrow(/8-bit/);
    expect(() => checkLinearQuantization({ dtype: "fp16", method: "matmul-nbits" } as never)).toThrow(
      /unknown weight storage/,
    );
  });
});

describe("storeFloatWeight", () => {
  it("stores fp16 bits and casts them back to float32 in the graph", async () => {
    const w = Float32Array.from([0.1, -3.14159, 1e-6, 1000.5]);
    const g = new GraphBuilder("cast");
    const x = g.input("x", "float32", [4]);
    const stored = await storeFloatWeight(g, inlineInitializers, "w", [4], w, {
      dtype: "fp16",
      method: "float16",
    });
    g.output(g.op("Add", [x, stored]), "float32", [4], "y");
    expect(g.toGraphProto().initializer.find((t) => t.name === "w")?.dataType).toBe(10); // FLOAT16
    const ort = await ortFor();
    const session = await createSession(serializeModel(g));
    try {
      const out = await session.run({ x: new ort.Tensor("float32", new Float32Array(4), [4]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual(Array.from(f16ToF32(float32ToFloat16Bits(w))));
      expect(Array.from(out.y.data as Float32Array)).not.toEqual(Array.from(w));
    } finally {
      await session.release();
    }
  });
});
