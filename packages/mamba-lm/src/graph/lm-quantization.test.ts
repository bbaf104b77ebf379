import { describe, expect, it } from "vitest";
import { lmQuantizationFor } from "./lm-quantization.js";

describe("lmQuantizationFor", () => {
  it("blocks of 128 at q4 and q4f16 (the 8-bit head too), 32 at q8, unless a block size is asked", () => {
    expect(lmQuantizationFor("q4")).toEqual({
      method: "matmul-nbits",
      bits: 4,
      headBits: 8,
      blockSize: 128,
      accuracyLevel: 4,
    });
    expect(lmQuantizationFor("q4f16")).toMatchObject({ bits: 4, blockSize: 128, floatType: "float16" });
    expect(lmQuantizationFor("q8")).toMatchObject({ bits: 8, headBits: 8, blockSize: 32 });
    expect(lmQuantizationFor("q4", { blockSize: 32 })).toMatchObject({ blockSize: 32 });
    expect(lmQuantizationFor("q8", { blockSize: 64 })).toMatchObject({ blockSize: 64 });
  });
});
