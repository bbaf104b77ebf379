import { describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../errors.js";
import { GraphBuilder, serializeModel } from "../onnx/builder.js";
import { recordingOrt } from "../testing.js";
import { createSession, explainBackendFailure, LM_SESSION, openSession, RUN_ONCE_SESSION } from "./ort.js";
import { ortFor } from "./ort-modules.js";

// What onnxruntime-node 1.30 throws for --backend webgpu on a machine without a GPU (copied from a real run).
const NO_ADAPTER =
  "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::" +
  "Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == " +
  "wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters";

describe("webgpu without a GPU adapter", () => {
  it("is a BackendUnavailableError that names the backend that works", () => {
    const e = explainBackendFailure(new Error(NO_ADAPTER), "webgpu");
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect(e?.message).toBe(
      "the webgpu backend found no GPU adapter here (No supported adapters): use the cpu backend, which works " +
        "everywhere in Node (wasm in a browser); webgpu needs a GPU with a Vulkan, Metal or D3D12 driver",
    );
  });

  it("leaves other failures, and other backends, to their own messages", () => {
    expect(explainBackendFailure(new Error("Protobuf parsing failed."), "webgpu")).toBeUndefined();
    expect(explainBackendFailure(new Error(NO_ADAPTER), "cpu")).toBeUndefined();
  });

  it("a real session on this machine either opens or fails typed", async () => {
    const g = new GraphBuilder("identity");
    g.output(g.op("Relu", [g.input("x", "float32", [1])]), "float32", [1]);
    const outcome = await createSession(serializeModel(g), { backend: "webgpu" }).then(
      (s) => s.release().then(() => "opened"),
      (e: unknown) => e,
    );
    if (outcome !== "opened") expect(outcome).toBeInstanceOf(BackendUnavailableError);
  });
});

/** Relu over a vector of any length: a session to open with each option. */
const relu = () => {
  const g = new GraphBuilder("relu");
  g.output(g.op("Relu", [g.input("x", "float32", ["n"])]), "float32", ["n"]);
  return serializeModel(g);
};

describe("memoryArena", () => {
  it("off reaches onnxruntime-node as enableCpuMemArena: false, and the session still runs", async () => {
    const { ort, created } = recordingOrt(await ortFor({ backend: "cpu" }));
    const { session } = await openSession(relu(), { backend: "cpu", ort, ...RUN_ONCE_SESSION });
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.of(-1, 2), [2]) });
    expect([...(out[session.outputNames[0]].data as Float32Array)]).toEqual([0, 2]);
    await session.release();
    expect(created).toHaveLength(1);
    expect(created[0].enableCpuMemArena).toBe(false);
  });

  it("is onnxruntime's default (the arena) when absent or on, and on wasm", async () => {
    const { ort, created } = recordingOrt(await ortFor({ backend: "cpu" }));
    for (const memoryArena of [undefined, true])
      await (await openSession(relu(), { backend: "cpu", ort, memoryArena })).session.release();
    const web = recordingOrt(await ortFor({ backend: "wasm" }));
    await (
      await openSession(relu(), { backend: "wasm", ort: web.ort, memoryArena: false })
    ).session.release();
    expect([...created, ...web.created].map((o) => o.enableCpuMemArena)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe("memoryPattern", () => {
  it("off reaches onnxruntime-node as enableMemPattern: false, and runs of several shapes still run", async () => {
    const { ort, created } = recordingOrt(await ortFor({ backend: "cpu" }));
    const { session } = await openSession(relu(), { backend: "cpu", ort, ...LM_SESSION });
    for (const n of [2, 3, 2]) {
      const x = Float32Array.from({ length: n }, (_, i) => i - 1);
      const out = await session.run({ x: new ort.Tensor("float32", x, [n]) });
      expect([...(out[session.outputNames[0]].data as Float32Array)]).toEqual(
        [...x].map((v) => Math.max(v, 0)),
      );
    }
    await session.release();
    expect(created.map((o) => o.enableMemPattern)).toEqual([false]);
  });

  it("is onnxruntime's default when absent or on, and on wasm", async () => {
    const { ort, created } = recordingOrt(await ortFor({ backend: "cpu" }));
    for (const memoryPattern of [undefined, true])
      await (await openSession(relu(), { backend: "cpu", ort, memoryPattern })).session.release();
    const web = recordingOrt(await ortFor({ backend: "wasm" }));
    await (await openSession(relu(), { backend: "wasm", ort: web.ort, ...LM_SESSION })).session.release();
    expect([...created, ...web.created].map((o) => o.enableMemPattern)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
