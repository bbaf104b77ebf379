/**
 * The default kernel behind the package's top-level ops: the wasm SIMD kernel (threaded where shared memory
 * is available) where WebAssembly SIMD runs, else the TypeScript reference. WebGPU is never picked on its own:
 * it needs a device, and for Float32Array inputs the upload and read-back outweigh the kernel; use
 * `createWebGpuKernel()` (or its encode* methods with GPU buffers) explicitly.
 */
import { referenceKernel } from "./reference.js";
import type {
  CausalConv1dOptions,
  CausalConv1dResult,
  CausalConv1dUpdateOptions,
  F32Result,
  F32Tensor,
  ScanKernel,
  SelectiveScanOptions,
  SelectiveScanResult,
  SelectiveStateUpdateOptions,
} from "./types.js";
import { createWasmKernel } from "./wasm/wasm-kernel.js";
import { wasmSimdSupported } from "./wasm/wasm-module.js";

let current: Promise<ScanKernel> | null = null;

/** The kernel the top-level ops use (created on first use). */
export function getDefaultKernel(): Promise<ScanKernel> {
  if (!current)
    current = wasmSimdSupported()
      ? createWasmKernel().catch(() => referenceKernel)
      : Promise.resolve(referenceKernel);
  return current;
}

/** Makes the top-level ops use `kernel` (the previous default is not disposed). */
export function setDefaultKernel(kernel: ScanKernel): void {
  current = Promise.resolve(kernel);
}

export async function selectiveScan(
  u: F32Tensor,
  delta: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  options?: SelectiveScanOptions,
): Promise<SelectiveScanResult> {
  return (await getDefaultKernel()).selectiveScan(u, delta, A, B, C, options);
}

export async function selectiveStateUpdate(
  state: F32Tensor,
  x: F32Tensor,
  dt: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  options?: SelectiveStateUpdateOptions,
): Promise<F32Result> {
  return (await getDefaultKernel()).selectiveStateUpdate(state, x, dt, A, B, C, options);
}

export async function causalConv1d(
  x: F32Tensor,
  weight: F32Tensor,
  bias?: F32Tensor | null,
  options?: CausalConv1dOptions,
): Promise<CausalConv1dResult> {
  return (await getDefaultKernel()).causalConv1d(x, weight, bias, options);
}

export async function causalConv1dUpdate(
  convState: F32Tensor,
  x: F32Tensor,
  weight: F32Tensor,
  bias?: F32Tensor | null,
  options?: CausalConv1dUpdateOptions,
): Promise<F32Result> {
  return (await getDefaultKernel()).causalConv1dUpdate(convState, x, weight, bias, options);
}
