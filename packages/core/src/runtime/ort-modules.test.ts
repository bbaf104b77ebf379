import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { GraphBuilder, serializeModel } from "../onnx/builder.js";
import { openSession } from "./ort.js";
import { checkBackend, ortFor, ortModuleName } from "./ort-modules.js";

describe("ortFor in Node", () => {
  it("cpu is onnxruntime-node and wasm onnxruntime-web: two different modules", async () => {
    const cpu = await ortFor({ backend: "cpu" });
    const wasm = await ortFor({ backend: "wasm" });
    expect(cpu).toBe(await import("onnxruntime-node"));
    expect(wasm).toBe(await import("onnxruntime-web"));
    expect(cpu).not.toBe(wasm);
    expect(cpu.Tensor).not.toBe(wasm.Tensor);
  });

  it("imports each package once: the same name gives the same module, the default is cpu", async () => {
    expect(await ortFor({ backend: "wasm" })).toBe(await ortFor({ backend: "wasm" }));
    expect(await ortFor()).toBe(await ortFor({ backend: "cpu" }));
    // webgpu in Node is onnxruntime-node's provider.
    expect(ortModuleName("webgpu")).toBe("onnxruntime-node");
    expect(await ortFor({ backend: "webgpu" })).toBe(await ortFor({ backend: "cpu" }));
  });

  it("an explicit module wins over the backend's", async () => {
    const web = await ortFor({ backend: "wasm" });
    expect(await ortFor({ backend: "cpu", ort: web })).toBe(web);
  });

  it("a session reports the module and backend it runs on, and runs that module's tensors", async () => {
    const g = new GraphBuilder("double");
    const x = g.input("x", "float32", [2]);
    g.output(g.op("Add", [x, x]), "float32", [2], "y");
    const opened = await openSession(serializeModel(g), { backend: "wasm" });
    try {
      expect(opened.backend).toBe("wasm");
      expect(opened.ort).toBe(await import("onnxruntime-web"));
      const out = await opened.session.run({
        x: new opened.ort.Tensor("float32", Float32Array.from([1, 2]), [2]),
      });
      expect(Array.from(out.y.data as Float32Array)).toEqual([2, 4]);
    } finally {
      await opened.session.release();
    }
  });

  it("refuses an unknown backend with a typed error naming the valid ones", async () => {
    expect(() => checkBackend("gpu", "lm backend")).toThrow(InvalidArgumentError);
    expect(() => checkBackend("gpu", "lm backend")).toThrow(
      'lm backend: unknown backend "gpu"; use "cpu", "wasm", "webgpu"',
    );
    await expect(ortFor({ backend: "cuda" as never })).rejects.toThrow(InvalidArgumentError);
    await expect(openSession(new Uint8Array(), { backend: "tpu" as never })).rejects.toThrow(
      /"cpu", "wasm", "webgpu"/,
    );
  });
});
