import { describe, expect, it } from "vitest";
import { PythonRandom } from "./python-random.js";

// Expected values: the first line is mt19937ar.out, the reference output Matsumoto and Nishimura publish for
// init_by_array({0x123, 0x234, 0x345, 0x456}); the rest were printed by CPython 3.11 (`random.Random`), the
// interpreter vlm-evaluation runs on. None comes from this module.
describe("PythonRandom (CPython's random.Random)", () => {
  it("seeds through init_by_array with the seed's 32-bit words (mt19937ar.out reference)", () => {
    const r = new PythonRandom((0x456n << 96n) | (0x345n << 64n) | (0x234n << 32n) | 0x123n);
    expect(Array.from({ length: 5 }, () => r.nextUint32())).toEqual([
      1067595299, 955945823, 477289528, 4107218783, 4228976476,
    ]);
  });

  it("random(), getrandbits over 32 bits and _randbelow follow CPython", () => {
    const r = new PythonRandom(42);
    expect(r.random()).toBe(0.6394267984578837);
    expect(r.getrandbits(40)).toBe(811856239313);
    expect(r.randbelow(1000)).toBe(281);
    expect(new PythonRandom(0).random()).toBe(0.8444218515250481);
  });

  it("a seed of several words and a negative seed (|seed|) as CPython", () => {
    expect(new PythonRandom(2 ** 40 + 5).getrandbits(32)).toBe(2166296868);
    expect(new PythonRandom(-7).getrandbits(32)).toBe(1390851128);
  });

  it("Random(21).shuffle picks vlm-evaluation's order (seed 21, its default)", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i);
    expect(new PythonRandom(21).shuffle(twenty)).toEqual([
      4, 1, 11, 16, 19, 0, 6, 14, 10, 2, 8, 7, 12, 3, 17, 15, 9, 18, 13, 5,
    ]);
    // GQA testdev-balanced's 12,578 questions
    const gqa = new PythonRandom(21).shuffle(Array.from({ length: 12578 }, (_, i) => i));
    expect(gqa.slice(0, 8)).toEqual([7186, 6795, 1997, 9844, 4604, 261, 1313, 5938]);
    expect(gqa.slice(-3)).toEqual([11301, 6848, 2702]);
  });
});
