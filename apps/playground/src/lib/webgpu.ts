/** Whether this browser offers a WebGPU adapter (the WebGPU backend needs one). */

export interface WebGpuSupport {
  available: boolean;
  /** Adapter vendor/architecture, or why there is none. */
  detail: string;
}

interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
}
type NavigatorWithGpu = Navigator & {
  gpu?: { requestAdapter(): Promise<{ info?: GpuAdapterInfo } | null> };
};

export async function detectWebGpu(nav: Navigator = navigator): Promise<WebGpuSupport> {
  const gpu = (nav as NavigatorWithGpu).gpu;
  if (!gpu) return { available: false, detail: "this browser has no WebGPU" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, detail: "no WebGPU adapter" };
    const info = adapter.info ?? {};
    const detail = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ");
    return { available: true, detail: detail || "adapter found" };
  } catch (error) {
    return { available: false, detail: `WebGPU failed: ${String(error)}` };
  }
}
