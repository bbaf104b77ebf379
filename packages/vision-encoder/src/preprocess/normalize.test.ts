import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ENCODER_NORMALIZATION } from "./encoders.js";
import { toChwU8, toNormalizedChw } from "./normalize.js";

/** All 256 grey levels as a 256 x 1 image. */
const ramp = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) };

describe("ToTensor + Normalize in float32", () => {
  it("matches numpy float32 (x / 255 - mean) / std bit for bit", () => {
    // Reference: numpy 2.4, float32 throughout:
    //   for (m, s) in [(0.485, 0.229), (0.456, 0.224), (0.406, 0.225), (0.5, 0.5)]:
    //     ((np.arange(256, dtype=np.float32) / np.float32(255) - np.float32(m)) / np.float32(s)).tobytes()
    // concatenated, sha256 below; spot values -2.1179039478302 (0, dino R), 2.640000104904175 (255, dino B).
    const dino = toNormalizedChw(ramp, ENCODER_NORMALIZATION.dino.mean, ENCODER_NORMALIZATION.dino.std);
    const siglip = toNormalizedChw(ramp, ENCODER_NORMALIZATION.siglip.mean, ENCODER_NORMALIZATION.siglip.std);
    expect(dino[0]).toBe(-2.1179039478302);
    expect(dino[2 * 256 + 255]).toBe(2.640000104904175);
    expect(siglip[0]).toBe(-1);
    expect(siglip[255]).toBe(1);
    const bytes = new Uint8Array([...new Uint8Array(dino.buffer), ...new Uint8Array(siglip.buffer, 0, 1024)]);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      "0c0a6595510543065969147e3768668939e3ada3cdf7f3646aa693b102590c5d",
    );
  });

  it("round((x * std + mean) * 255) recovers every uint8 value (how the fixtures' pixels were stored)", () => {
    for (const { mean, std } of Object.values(ENCODER_NORMALIZATION)) {
      const x = toNormalizedChw(ramp, mean, std);
      for (let c = 0; c < 3; c++)
        for (let v = 0; v < 256; v++)
          expect(Math.round((x[c * 256 + v] * std[c] + mean[c]) * 255) === v).toBe(true);
    }
  });

  it("lays out planes as [3, H, W]", () => {
    const image = { width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(toChwU8(image))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("rejects a zero std", () => {
    expect(() => toNormalizedChw(ramp, [0, 0, 0], [1, 0, 1])).toThrow(/std must be finite and non-zero/);
  });
});
