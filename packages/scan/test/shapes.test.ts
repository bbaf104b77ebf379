// The argument checks every kernel shares (src/shapes.ts), through the reference kernel's ops: each bad
// argument is an InvalidArgumentError naming the op and the argument.
import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { referenceKernel as k } from "../src/reference.js";
import type { F32Tensor } from "../src/types.js";
import { scanInputs } from "./random.js";

const zeros = (shape: number[]): F32Tensor => ({
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

describe("selectiveScan's checks", () => {
  const s = scanInputs(1, 8, 4, 16, 1);
  it.each([
    [
      "u of rank 2",
      () => k.selectiveScan(zeros([8, 4]), s.delta, s.A, s.B, s.C),
      /selectiveScan: u must be \[batch, d, L\], got \[8, 4\]/,
    ],
    [
      "L = 0",
      () => k.selectiveScan(zeros([1, 8, 0]), zeros([1, 8, 0]), s.A, s.B, s.C),
      /selectiveScan: L must be a positive integer, got 0/,
    ],
    [
      "A of rank 1",
      () => k.selectiveScan(s.u, s.delta, zeros([8]), s.B, s.C),
      /selectiveScan: A must be \[d, N\], got \[8\]/,
    ],
    [
      "N = 0",
      () => k.selectiveScan(s.u, s.delta, zeros([8, 0]), s.B, s.C),
      /selectiveScan: N must be a positive integer, got 0/,
    ],
    [
      "no C",
      () => k.selectiveScan(s.u, s.delta, s.A, s.B, undefined as unknown as F32Tensor),
      /selectiveScan: B and C are required/,
    ],
    [
      "3 groups for d = 8",
      () => k.selectiveScan(s.u, s.delta, s.A, zeros([1, 3, 16, 4]), zeros([1, 3, 16, 4])),
      /selectiveScan: d = 8 is not divisible by the 3 groups of B/,
    ],
    [
      "C unlike B",
      () => k.selectiveScan(s.u, s.delta, s.A, s.B, zeros([1, 16, 5])),
      /selectiveScan: C has shape \[1, 16, 5\], expected \[1, 16, 4\]/,
    ],
    [
      "grouped C unlike grouped B",
      () => k.selectiveScan(s.u, s.delta, s.A, zeros([1, 2, 16, 4]), s.C),
      /selectiveScan: C has shape \[1, 16, 4\], expected \[1, 2, 16, 4\]/,
    ],
  ])("%s", async (_, call, message) => {
    await expect(call()).rejects.toThrow(InvalidArgumentError);
    await expect(call()).rejects.toThrow(message);
  });

  it("grouped B and C whose groups divide d are taken", async () => {
    const g = scanInputs(1, 8, 4, 16, 1, 2);
    await expect(k.selectiveScan(g.u, g.delta, g.A, g.B, g.C)).resolves.toMatchObject({
      out: { shape: [1, 8, 4] },
    });
  });
});

describe("selectiveStateUpdate's checks", () => {
  const state = zeros([2, 8, 16]);
  const x = zeros([2, 8]);
  const A = zeros([8, 16]);
  it.each([
    [
      "state of rank 2",
      () => k.selectiveStateUpdate(zeros([8, 16]), x, x, A, zeros([2, 16]), zeros([2, 16])),
      /selectiveStateUpdate: state must be \[batch, d, N\], got \[8, 16\]/,
    ],
    [
      "batch = 0",
      () =>
        k.selectiveStateUpdate(
          zeros([0, 8, 16]),
          zeros([0, 8]),
          zeros([0, 8]),
          A,
          zeros([0, 16]),
          zeros([0, 16]),
        ),
      /selectiveStateUpdate: batch must be a positive integer, got 0/,
    ],
    [
      "no B",
      () => k.selectiveStateUpdate(state, x, x, A, undefined as unknown as F32Tensor, zeros([2, 16])),
      /selectiveStateUpdate: B and C are required/,
    ],
    [
      "3 groups for d = 8",
      () => k.selectiveStateUpdate(state, x, x, A, zeros([2, 3, 16]), zeros([2, 3, 16])),
      /selectiveStateUpdate: d = 8 is not divisible by the 3 groups of B/,
    ],
    [
      "C unlike grouped B",
      () => k.selectiveStateUpdate(state, x, x, A, zeros([2, 4, 16]), zeros([2, 16])),
      /selectiveStateUpdate: C has shape \[2, 16\], expected \[2, 4, 16\]/,
    ],
  ])("%s", async (_, call, message) => {
    await expect(call()).rejects.toThrow(InvalidArgumentError);
    await expect(call()).rejects.toThrow(message);
  });

  it("B and C in 4 groups of d = 8 are taken", async () => {
    await expect(
      k.selectiveStateUpdate(zeros([2, 8, 16]), x, x, A, zeros([2, 4, 16]), zeros([2, 4, 16])),
    ).resolves.toMatchObject({ shape: [2, 8] });
  });
});

describe("causalConv1d and causalConv1dUpdate's checks", () => {
  it.each([
    [
      "x of rank 2",
      () => k.causalConv1d(zeros([8, 4]), zeros([8, 4])),
      /causalConv1d: x must be \[batch, d, L\], got \[8, 4\]/,
    ],
    [
      "weight of rank 1",
      () => k.causalConv1d(zeros([1, 8, 4]), zeros([8])),
      /causalConv1d: weight must be \[d, W\], got \[8\]/,
    ],
    [
      "W = 0",
      () => k.causalConv1d(zeros([1, 8, 4]), zeros([8, 0])),
      /causalConv1d: W must be a positive integer, got 0/,
    ],
    [
      "a state with W = 1",
      () => k.causalConv1d(zeros([1, 8, 4]), zeros([8, 1]), null, { initialState: zeros([1, 8, 0]) }),
      /causalConv1d: initialState needs a kernel width of at least 2/,
    ],
    [
      "convState of rank 2",
      () => k.causalConv1dUpdate(zeros([8, 4]), zeros([1, 8]), zeros([8, 4])),
      /causalConv1dUpdate: convState must be \[batch, d, W\], got \[8, 4\]/,
    ],
    [
      "d = 0",
      () => k.causalConv1dUpdate(zeros([1, 0, 4]), zeros([1, 0]), zeros([0, 4])),
      /causalConv1dUpdate: d must be a positive integer, got 0/,
    ],
    [
      "weight unlike convState",
      () => k.causalConv1dUpdate(zeros([1, 8, 4]), zeros([1, 8]), zeros([8, 3])),
      /causalConv1dUpdate: weight has shape \[8, 3\], expected \[8, 4\]/,
    ],
  ])("%s", async (_, call, message) => {
    await expect(call()).rejects.toThrow(InvalidArgumentError);
    await expect(call()).rejects.toThrow(message);
  });
});
