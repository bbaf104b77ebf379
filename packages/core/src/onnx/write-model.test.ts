import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { createSession, openSession, ortFor } from "../runtime/ort.js";
import { GraphBuilder } from "./builder.js";
import { externalDataPaths, nodeSessionOptions } from "./external-data-paths.js";
import { writeOnnxModel } from "./write-model.js";

let dir = "";
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("writeOnnxModel", () => {
  it("streams weights to external data and writes a model onnxruntime loads", async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-write-"));
    const w = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const { files } = await writeOnnxModel(dir, "m.onnx", async (sink) => {
      const g = new GraphBuilder("m");
      const x = g.input("x", "float32", [1, 2]);
      g.output(g.op("MatMul", [x, await sink(g, "w", [2, 3], w)]), "float32", [1, 3], "y");
      return g;
    });
    expect(files).toEqual(["m.onnx", "m.onnx.data"]);
    const ort = await ortFor();
    const session = await createSession(join(dir, "m.onnx"));
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 10]), [1, 2]) });
    await session.release();
    expect(Array.from(out.y.data as Float32Array)).toEqual([41, 52, 63]);
  });

  it("removes everything it wrote when building fails midway", async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-write-"));
    const failing = writeOnnxModel(dir, "m.onnx", async (sink) => {
      const g = new GraphBuilder("m");
      await sink(g, "w", [2], Float32Array.from([1, 2]));
      throw new Error("the second tensor is corrupt");
    });
    await expect(failing).rejects.toThrow(/corrupt/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a file name with a path", async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-write-"));
    await expect(writeOnnxModel(dir, "../m.onnx", async () => new GraphBuilder("m"))).rejects.toThrow(
      /must not contain a path/,
    );
  });
});

describe("a model file with external data on onnxruntime-web (wasm) in Node", () => {
  const write = async () => {
    dir = await mkdtemp(join(tmpdir(), "cobra-write-"));
    await writeOnnxModel(dir, "m.onnx", async (sink) => {
      const g = new GraphBuilder("m");
      const x = g.input("x", "float32", [1, 2]);
      g.output(
        g.op("MatMul", [x, await sink(g, "w", [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]))]),
        "float32",
        [1, 3],
        "y",
      );
      return g;
    });
    return join(dir, "m.onnx");
  };

  it("lists the external files and opens with them given as paths", async () => {
    const model = await write();
    expect(await externalDataPaths(model)).toEqual([{ path: "m.onnx.data", data: join(dir, "m.onnx.data") }]);
    const { session, ort } = await openSession(model, await nodeSessionOptions(model, { backend: "wasm" }));
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 10]), [1, 2]) });
    await session.release();
    expect(Array.from(out.y.data as Float32Array)).toEqual([41, 52, 63]);
  });

  it("without them, fails with a typed error that says what to pass", async () => {
    const model = await write();
    await expect(openSession(model, { backend: "wasm" })).rejects.toThrow(InvalidArgumentError);
    await expect(openSession(model, { backend: "wasm" })).rejects.toThrow(/m\.onnx\.data.*externalDataPaths/);
  });
});
