import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelFormatError } from "../errors.js";
import { linearQuantizationMetadata } from "../quant/linear-storage.js";
import { GraphBuilder } from "./builder.js";
import { openFp32Graph, openOnnxWeights } from "./onnx-weights.js";
import { writeOnnxModel } from "./write-model.js";

let dir = "";
const w = Float32Array.from([1.5, -2, 3e-8, 4, -0, 6]);
const b = Float32Array.from([0.25, -0.5, 7]);

/** x @ w + b, w and b in external data, a float16 initializer and an int64 / float constant inline. */
async function write(fileName: string, metadata: Record<string, string>) {
  await writeOnnxModel(
    dir,
    fileName,
    async (sink) => {
      const g = new GraphBuilder("m");
      const x = g.input("x", "float32", [1, 2]);
      const y = g.op("Add", [g.op("MatMul", [x, await sink(g, "w", [2, 3], w)]), await sink(g, "b", [3], b)]);
      const half = g.op("Cast", [await sink(g, "h", [3], new Uint16Array([0x3c00, 0, 0]))], { to: 1 });
      const scaled = g.op("Mul", [g.op("Add", [y, half]), g.constFloat([2], [])]);
      g.output(g.op("Reshape", [scaled, g.constInt64([1, 3])]), "float32", [1, 3], "y");
      return g;
    },
    { metadata },
  );
  return join(dir, fileName);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cobra-onnx-weights-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("openOnnxWeights", () => {
  it("reads a graph's float32 initializers back bit for bit, the others not being keys", async () => {
    const source = await openOnnxWeights(await write("m.onnx", { "cobra.dtype": "fp32" }));
    try {
      expect(source.has("w") && source.has("b")).toBe(true);
      expect(source.has("h")).toBe(false);
      expect(source.keys().filter((k) => k.startsWith("const_i64"))).toEqual([]);
      expect(source.info("w")).toEqual({ dtype: "F32", shape: [2, 3] });
      const read = await source.read("w");
      expect(read.shape).toEqual([2, 3]);
      expect(Buffer.from((read.data as Float32Array).buffer)).toEqual(Buffer.from(w.buffer));
      expect(Array.from((await source.read("b")).data as Float32Array)).toEqual(Array.from(b));
      expect(source.metadata["cobra.dtype"]).toBe("fp32");
      await expect(source.read("h")).rejects.toThrow(InvalidArgumentError);
    } finally {
      await source.close();
    }
  });

  it("openFp32Graph refuses a graph whose metadata records another dtype", async () => {
    const q8 = linearQuantizationMetadata({
      dtype: "q8",
      method: "matmul-nbits",
      bits: 8,
      blockSize: 32,
      accuracyLevel: 4,
    });
    const path = await write("q8.onnx", q8);
    await expect(openFp32Graph(path, "test")).rejects.toThrow(ModelFormatError);
    await expect(openFp32Graph(path, "test")).rejects.toThrow(/the test graph is stored as q8/);
    // No metadata (a graph from before it was written) is read as what its initializers are.
    const plain = await openFp32Graph(await write("plain.onnx", {}), "test");
    expect(plain.has("w")).toBe(true);
    await plain.close();
  });
});
