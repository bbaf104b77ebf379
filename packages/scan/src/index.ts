export {
  causalConv1d,
  causalConv1dUpdate,
  getDefaultKernel,
  selectiveScan,
  selectiveStateUpdate,
  setDefaultKernel,
} from "./default-kernel.js";
export * from "./onnx/index.js";
export {
  causalConv1dReference,
  causalConv1dUpdateReference,
  referenceKernel,
  selectiveScanReference,
  selectiveStateUpdateReference,
  silu,
  softplus,
} from "./reference.js";
export type { ConvDims, ScanDims, UpdateDims } from "./shapes.js";
export type * from "./types.js";
export { createWasmKernel, type WasmKernelOptions, type WasmScanKernel } from "./wasm/wasm-kernel.js";
export { wasmSimdSupported } from "./wasm/wasm-module.js";
export type * from "./webgpu/gpu-types.js";
export {
  createWebGpuKernel,
  type GpuConvBuffers,
  type GpuConvUpdateBuffers,
  type GpuScanBuffers,
  type GpuStateUpdateBuffers,
  REQUIRED_STORAGE_BUFFERS,
  type WebGpuKernelOptions,
  WebGpuScanKernel,
  webgpuAvailable,
} from "./webgpu/webgpu-kernel.js";
