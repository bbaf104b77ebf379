// Which kernel an LM's scans get without one from the caller. Node has no navigator.gpu: the "webgpu" cases
// stand in a navigator whose WebGPU finds no adapter, as a browser without a usable GPU would.
import { BackendUnavailableError, type OrtModule } from "@cobra-ts/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scanKernelFor } from "./scan-kernel-choice.js";

const ort = { env: { webgpu: {} } } as unknown as OrtModule;

describe("scanKernelFor", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("runs the scans in WebAssembly SIMD on the cpu and wasm backends", async () => {
    for (const backend of ["cpu", "wasm"] as const) {
      const kernel = await scanKernelFor(backend, ort);
      expect(kernel.name).toBe("wasm-simd");
      kernel.dispose();
    }
  });

  it("runs them in WebAssembly on webgpu where the runtime has no WebGPU API (Node's native provider)", async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    const kernel = await scanKernelFor("webgpu", ort);
    expect(kernel.name).toBe("wasm-simd");
    kernel.dispose();
  });

  it("refuses with BackendUnavailableError where WebGPU finds no adapter, rather than switch to WebAssembly", async () => {
    vi.stubGlobal("navigator", { gpu: { requestAdapter: async () => null } });
    const refused = scanKernelFor("webgpu", ort);
    await expect(refused).rejects.toThrow(BackendUnavailableError);
    await expect(refused).rejects.toThrow(/returned no adapter.*scan "graph"/);
  });
});
