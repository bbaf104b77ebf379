// softplusTorch, the one softplus of the ONNX emitters, against torch's definition evaluated in float64.
import { GraphBuilder, openSession, serializeModel } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { softplusTorch } from "../src/onnx/common.js";

/** torch.nn.functional.softplus (beta 1, threshold 20), exact then rounded to float32. */
const torchSoftplus = (x: number) => (x > 20 ? x : Math.fround(Math.log1p(Math.exp(x))));

async function run(x: Float32Array): Promise<Float32Array> {
  const g = new GraphBuilder("softplus");
  g.output(softplusTorch(g, g.input("x", "float32", [x.length])), "float32", [x.length], "y");
  const { session, ort } = await openSession(serializeModel(g), { threads: 1 });
  const out = await session.run({ x: new ort.Tensor("float32", x, [x.length]) });
  await session.release();
  return out.y.data as Float32Array;
}

describe("softplusTorch in onnxruntime", () => {
  // A few float32 ulps: onnxruntime's Exp and Log are themselves not correctly rounded.
  it("is within 4e-7 relative of torch's softplus over [-40, 40] (Mamba's dt is around -5)", async () => {
    const x = Float32Array.from({ length: 200_001 }, (_, i) => -40 + i * 4e-4);
    const y = await run(x);
    let worst = 0;
    for (const [i, v] of x.entries()) {
      const e = torchSoftplus(v);
      worst = Math.max(worst, Math.abs(y[i] - e) / Math.abs(e));
    }
    console.log(`softplusTorch vs float64 softplus: max relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(4e-7);
  });

  it("is the identity above torch's threshold and keeps the limits", async () => {
    const x = Float32Array.from([20, 20.5, 21, 87, 89, 1e6, 3e38, Infinity, -Infinity, -1e6, -104, 0]);
    const y = await run(x);
    expect(Array.from(y.subarray(1, 8))).toEqual(Array.from(x.subarray(1, 8)));
    expect(y[0]).toBe(Math.fround(torchSoftplus(20)));
    expect(Array.from(y.subarray(8, 11))).toEqual([0, 0, 0]);
    expect(y[11]).toBe(Math.fround(Math.LN2));
  });

  it("passes NaN through", async () => {
    expect(Number.isNaN((await run(Float32Array.from([Number.NaN])))[0])).toBe(true);
  });
});
