import { SCAN_WASM_PRIVATE_BASE64, SCAN_WASM_SHARED_BASE64 } from "./scan-wasm.generated.js";

/** The kernels' exports (byte offsets into the memory; 0 = absent). See scan.wat for each signature. */
export interface ScanWasmExports {
  scan(...args: number[]): void;
  state_update(...args: number[]): void;
  conv1d(...args: number[]): void;
  conv_update(...args: number[]): void;
  /** In-place exp (0), softplus (1) or silu (2) of n floats (n a multiple of 4), for tests. */
  map_f32(ptr: number, n: number, fn: number): void;
}

/** Order of the kernels in a thread's call list (the worker looks them up by this index). */
export const KERNEL_NAMES = ["scan", "state_update", "conv1d", "conv_update"] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// A module using one SIMD instruction (i32x4.splat): validates only where WebAssembly SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11,
]);

/** Whether this engine runs WebAssembly SIMD (Node >= 16.4, Chrome 91, Firefox 89, Safari 16.4). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

const compiled = new Map<boolean, Promise<WebAssembly.Module>>();

/** Compiles (once per variant) the kernels importing a shared memory (threads) or a plain one. */
export function compileScanModule(shared: boolean): Promise<WebAssembly.Module> {
  let m = compiled.get(shared);
  if (!m) {
    m = WebAssembly.compile(decodeBase64(shared ? SCAN_WASM_SHARED_BASE64 : SCAN_WASM_PRIVATE_BASE64));
    compiled.set(shared, m);
  }
  return m;
}

/** Synchronous compile (small module; allowed off the browser main thread and in Node). */
export function compileScanModuleSync(shared: boolean): WebAssembly.Module {
  return new WebAssembly.Module(decodeBase64(shared ? SCAN_WASM_SHARED_BASE64 : SCAN_WASM_PRIVATE_BASE64));
}
