import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSession, ortFor } from "../runtime/ort.js";
import { gelu, pseudoRandom as rand } from "../testing.js";
import { FloatAttr, GraphBuilder, serializeModel } from "./builder.js";
import { ExternalDataWriter } from "./external-data.js";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Plain row-major matmul [m,k] x [k,n]. */
function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  return out;
}

async function run(
  g: GraphBuilder,
  feeds: Record<string, [Float32Array, number[]]>,
  opsets?: Record<string, number>,
) {
  const ort = await ortFor();
  const session = await createSession(serializeModel(g, { opsets }));
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([k, [d, s]]) => [k, new ort.Tensor("float32", d, s)]),
  );
  const out = await session.run(inputs);
  await session.release();
  return out;
}

describe("GraphBuilder in onnxruntime-node", () => {
  it("MatMul and Gemm (with bias, transB) match plain TS", async () => {
    const [m, k, n] = [3, 5, 4];
    const a = rand(m * k, 1);
    const w = rand(n * k, 2); // [n, k], used transposed like a torch Linear
    const bias = rand(n, 3);
    const g = new GraphBuilder("linear");
    const x = g.input("x", "float32", ["batch", k]);
    const wt = g.initializer("w", "float32", [n, k], w);
    const b = g.initializer("b", "float32", [n], bias);
    g.output(g.op("Gemm", [x, wt, b], { transB: 1 }), "float32", ["batch", n], "gemm");
    const wT = g.initializer("wT", "float32", [k, n], transpose(w, n, k));
    g.output(g.op("MatMul", [x, wT]), "float32", ["batch", n], "matmul");
    const out = await run(g, { x: [a, [m, k]] });
    const ref = matmul(a, transpose(w, n, k), m, k, n);
    expect(maxAbsDiff(out.matmul.data as Float32Array, ref)).toBeLessThan(1e-6);
    const refBias = ref.map((v, i) => v + bias[i % n]);
    expect(maxAbsDiff(out.gemm.data as Float32Array, refBias)).toBeLessThan(1e-6);
  });

  it("LayerNormalization, exact GELU and Softplus match plain TS", async () => {
    const [rows, d] = [4, 7];
    const x = rand(rows * d, 4).map((v) => v * 6);
    const gamma = rand(d, 5);
    const beta = rand(d, 6);
    const g = new GraphBuilder("norms");
    const xi = g.input("x", "float32", [rows, d]);
    const ln = g.op(
      "LayerNormalization",
      [xi, g.initializer("g", "float32", [d], gamma), g.initializer("b", "float32", [d], beta)],
      {
        axis: -1,
        epsilon: 1e-6,
      },
    );
    g.output(ln, "float32", [rows, d], "ln");
    g.output(g.op("Gelu", [xi], { approximate: "none" }), "float32", [rows, d], "gelu");
    g.output(g.op("Softplus", [xi]), "float32", [rows, d], "softplus");
    const out = await run(g, { x: [x, [rows, d]] }, { "": 20 });
    const refLn = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * d, (r + 1) * d);
      const mean = row.reduce((s, v) => s + v, 0) / d;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / d;
      for (let j = 0; j < d; j++)
        refLn[r * d + j] = ((row[j] - mean) / Math.sqrt(variance + 1e-6)) * gamma[j] + beta[j];
    }
    expect(maxAbsDiff(out.ln.data as Float32Array, refLn)).toBeLessThan(1e-5);
    const refGelu = x.map(gelu);
    expect(maxAbsDiff(out.gelu.data as Float32Array, refGelu)).toBeLessThan(1e-5);
    const refSoftplus = x.map((v) => Math.log1p(Math.exp(v)));
    expect(maxAbsDiff(out.softplus.data as Float32Array, refSoftplus)).toBeLessThan(1e-5);
  });

  it("depthwise Conv with padding and groups matches plain TS", async () => {
    const [c, len, w] = [3, 6, 4];
    const x = rand(c * len, 7);
    const weight = rand(c * w, 8);
    const bias = rand(c, 9);
    const g = new GraphBuilder("conv");
    const xi = g.input("x", "float32", [1, c, len]);
    const y = g.op(
      "Conv",
      [xi, g.initializer("w", "float32", [c, 1, w], weight), g.initializer("b", "float32", [c], bias)],
      {
        group: c,
        pads: [w - 1, 0],
        kernel_shape: [w],
      },
    );
    g.output(y, "float32", [1, c, len], "y");
    const out = await run(g, { x: [x, [1, c, len]] });
    const ref = new Float32Array(c * len);
    for (let ch = 0; ch < c; ch++)
      for (let t = 0; t < len; t++) {
        let s = bias[ch];
        for (let k = 0; k < w; k++) {
          const src = t - (w - 1) + k;
          if (src >= 0) s += weight[ch * w + k] * x[ch * len + src];
        }
        ref[ch * len + t] = s;
      }
    expect(maxAbsDiff(out.y.data as Float32Array, ref)).toBeLessThan(1e-6);
  });

  it("Scan with a subgraph body computes a decayed running sum", async () => {
    // h_t = a * h_{t-1} + x_t, emitted per step: a linear recurrence like Mamba's, in the standard Scan op.
    const [steps, d] = [5, 3];
    const x = rand(steps * d, 10);
    const a = 0.7;
    const g = new GraphBuilder("scan");
    const xi = g.input("x", "float32", [steps, d]);
    const h0 = g.constFloat(new Float32Array(d), [d]);
    const body = g.subgraph("body");
    const hPrev = body.input("h_prev", "float32", [d]);
    const xt = body.input("x_t", "float32", [d]);
    const decayed = body.op("Mul", [hPrev, body.constFloat([a], [])]);
    const h = body.op("Add", [decayed, xt]);
    body.output(h, "float32", [d], "h_next");
    body.output(body.op("Identity", [h]), "float32", [d], "y_t");
    const [, ys] = g.opMulti("Scan", [h0, xi], 2, { body, num_scan_inputs: 1 });
    g.output(ys, "float32", [steps, d], "y");
    const out = await run(g, { x: [x, [steps, d]] });
    const ref = new Float32Array(steps * d);
    const state = new Float32Array(d);
    for (let t = 0; t < steps; t++)
      for (let j = 0; j < d; j++) {
        state[j] = Math.fround(Math.fround(a * state[j]) + x[t * d + j]);
        ref[t * d + j] = state[j];
      }
    expect(maxAbsDiff(out.y.data as Float32Array, ref)).toBeLessThan(1e-6);
  });

  it("FloatAttr keeps integral float attributes typed as floats", async () => {
    const g = new GraphBuilder("elu");
    const xi = g.input("x", "float32", [3]);
    g.output(g.op("Elu", [xi], { alpha: new FloatAttr(2) }), "float32", [3], "y");
    const out = await run(g, { x: [Float32Array.from([-1, 0, 1]), [3]] });
    expect(Array.from(out.y.data as Float32Array)).toEqual([Math.fround(2 * Math.expm1(-1)), 0, 1]);
  });

  describe("external data", () => {
    let dir = "";
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("loads initializers from external files on disk, split at the size limit", async () => {
      dir = await mkdtemp(join(tmpdir(), "cobra-onnx-"));
      const [k, n] = [8, 6];
      const w1 = rand(k * n, 11);
      const w2 = rand(n * n, 12);
      // A 200-byte cap forces the second weight into a second data file.
      const writer = new ExternalDataWriter(dir, "model.onnx.data", 200);
      const loc1 = await writer.write(w1);
      const loc2 = await writer.write(w2);
      await writer.close();
      expect(writer.files).toEqual(["model.onnx.data", "model.onnx.data.1"]);
      expect(loc2).toEqual({ location: "model.onnx.data.1", offset: 0, length: n * n * 4 });
      const g = new GraphBuilder("ext");
      const xi = g.input("x", "float32", [1, k]);
      const h = g.op("MatMul", [xi, g.externalInitializer("w1", "float32", [k, n], loc1)]);
      g.output(
        g.op("MatMul", [h, g.externalInitializer("w2", "float32", [n, n], loc2)]),
        "float32",
        [1, n],
        "y",
      );
      const modelPath = join(dir, "model.onnx");
      await writeFile(modelPath, serializeModel(g));
      const ort = await ortFor();
      const session = await createSession(modelPath);
      const x = rand(k, 13);
      const out = await session.run({ x: new ort.Tensor("float32", x, [1, k]) });
      await session.release();
      const ref = matmul(matmul(x, w1, 1, k, n), w2, 1, n, n);
      expect(maxAbsDiff(out.y.data as Float32Array, ref)).toBeLessThan(1e-5);
    });
  });

  it("imports every operator domain a node uses, subgraphs included", async () => {
    const g = new GraphBuilder("domains");
    const x = g.input("x", "float32", [2]);
    const body = g.subgraph("then");
    body.output(
      body.op("FusedMatMul", [x, x], { alpha: new FloatAttr(2) }, { domain: "com.microsoft" }),
      "float32",
      null,
    );
    const other = g.subgraph("else");
    other.output(other.op("Identity", [g.constFloat([0], [])]), "float32", null);
    const out = g.op(
      "If",
      [g.constInt64([1], [1])].map((c) => g.op("Cast", [c], { to: 9 })),
      {
        then_branch: body,
        else_branch: other,
      },
    );
    g.output(out, "float32", null);
    expect([...g.domainsUsed]).toEqual(["com.microsoft"]);
    const session = await createSession(serializeModel(g));
    const ort = await ortFor();
    const result = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2]), [2]) });
    await session.release();
    expect(Array.from(result[out].data as Float32Array)).toEqual([10]); // 2 * (1*1 + 2*2)
  });

  it("refuses duplicate value names", () => {
    const g = new GraphBuilder("dup");
    g.input("x", "float32", [1]);
    expect(() => g.input("x", "float32", [1])).toThrow(/already has a value named "x"/);
  });
});

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}
