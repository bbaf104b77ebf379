import { describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../errors.js";
import { GraphBuilder, serializeModel } from "../onnx/builder.js";
import { createSession, explainBackendFailure } from "./ort.js";

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
