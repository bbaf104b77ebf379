/**
 * Which @cobra-ts/scan kernel runs an LM's scans (scan "kernel") when the caller gives none: the WGSL kernel
 * where the LM's graph runs on WebGPU and this JavaScript runtime has the WebGPU API (browsers), else the
 * WebAssembly SIMD kernel (else the TypeScript reference). Node's webgpu backend is onnxruntime-node's native
 * provider and Node has no navigator.gpu, so there the scans run in WebAssembly.
 */
import { type Backend, BackendUnavailableError, type OrtModule } from "@cobra-ts/core";
import {
  createWasmKernel,
  createWebGpuKernel,
  type GpuDevice,
  REQUIRED_STORAGE_BUFFERS,
  referenceKernel,
  type ScanKernel,
  wasmSimdSupported,
  webgpuAvailable,
} from "@cobra-ts/scan";

/** The CPU kernel: wasm SIMD (threaded where shared memory allows), else the TS reference. */
export async function defaultScanKernel(threads?: number): Promise<ScanKernel> {
  return wasmSimdSupported() ? createWasmKernel({ threads }) : referenceKernel;
}

/**
 * The kernel for an LM whose graph segments run on `backend` in `ort`. On WebGPU it shares onnxruntime's
 * GPUDevice when that device allows the kernel's storage buffers (onnxruntime-web asks for WebGPU's default
 * of 8, the scan binds 10), else it requests a device of its own. No adapter or device for it is a
 * BackendUnavailableError, never a silent switch to WebAssembly.
 */
export async function scanKernelFor(backend: Backend, ort: OrtModule, threads?: number): Promise<ScanKernel> {
  if (backend !== "webgpu" || !webgpuAvailable()) return defaultScanKernel(threads);
  try {
    const shared = (await ort.env.webgpu?.device) as GpuDevice | undefined;
    const fits = (shared?.limits.maxStorageBuffersPerShaderStage ?? 0) >= REQUIRED_STORAGE_BUFFERS;
    return await createWebGpuKernel(fits ? { device: shared } : {});
  } catch (e) {
    throw new BackendUnavailableError(
      `the LM runs on webgpu with scan "kernel", and the WebGPU scan kernel could not start: ${e instanceof Error ? e.message : String(e)}; load it with scan "graph", or on the wasm backend`,
      { cause: e },
    );
  }
}
