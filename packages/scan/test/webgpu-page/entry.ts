// The WebGPU test page's script (bundled by test/webgpu-chromium.test.ts): runs the fixture cases and the
// consistency checks on the WebGPU kernel (and on the wasm kernel with Web Workers) and returns every
// computed tensor to Node as base64, where it is compared.

import type { ScanKernel } from "../../src/types.js";
import { createWasmKernel } from "../../src/wasm/wasm-kernel.js";
import { WebGpuScanKernel } from "../../src/webgpu/webgpu-kernel.js";
import { runCase, type ScanCase, type Tensors } from "../cases.js";
import { consistencyChecks } from "../consistency.js";

export interface PagePayload {
  cases: ScanCase[];
  tensors: Record<string, { shape: number[]; b64: string }>;
}

export interface KernelReport {
  kernel: string;
  detail: string;
  /** `<case>/<output>` -> base64 float32 */
  fixture: Record<string, string>;
  checks: { name: string; actual: string; expected: string }[];
  ms: number;
}

function toB64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromB64(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

async function report(
  kernel: ScanKernel,
  detail: string,
  payload: PagePayload,
  tensors: Tensors,
): Promise<KernelReport> {
  const t0 = performance.now();
  const fixture: Record<string, string> = {};
  for (const c of payload.cases) {
    const got = await runCase(kernel, c, tensors);
    for (const [arg, v] of Object.entries(got)) fixture[`${c.case}/${arg}`] = toB64(v);
  }
  const checks = (await consistencyChecks(kernel)).map((c) => ({
    name: c.name,
    actual: toB64(c.actual),
    expected: toB64(c.expected),
  }));
  return { kernel: kernel.name, detail, fixture, checks, ms: performance.now() - t0 };
}

async function run(
  payload: PagePayload,
): Promise<{ adapter: string | null; isolated: boolean; reports: KernelReport[]; errors: string[] }> {
  const tensors: Tensors = {};
  for (const [k, v] of Object.entries(payload.tensors)) tensors[k] = { shape: v.shape, data: fromB64(v.b64) };
  const reports: KernelReport[] = [];
  const errors: string[] = [];
  let adapter: string | null = null;
  try {
    const gpu = await WebGpuScanKernel.create();
    adapter = gpu.adapterDescription;
    reports.push(await report(gpu, adapter, payload, tensors));
    gpu.dispose();
  } catch (e) {
    errors.push(`webgpu: ${(e as Error).stack ?? e}`);
  }
  try {
    const wasm = await createWasmKernel({ threads: 2, minParallelWork: 0 });
    reports.push(await report(wasm, `threads ${wasm.threads}`, payload, tensors));
    wasm.dispose();
  } catch (e) {
    errors.push(`wasm: ${(e as Error).stack ?? e}`);
  }
  return { adapter, isolated: globalThis.crossOriginIsolated === true, reports, errors };
}

(globalThis as { runScanTests?: typeof run }).runScanTests = run;
