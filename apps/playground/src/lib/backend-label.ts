import type { LoadedInfo } from "@cobra-ts/cobra/worker";

/** How the running backend is named in the UI, including whether WASM can use threads. */
export function backendLabel(
  info: Pick<LoadedInfo, "backend" | "crossOriginIsolated" | "logicalCores">,
): string {
  if (info.backend === "webgpu") return "WebGPU";
  if (info.backend === "wasm")
    return info.crossOriginIsolated
      ? `WASM, threads available (${info.logicalCores} logical cores)`
      : "WASM, single thread (the page is not cross-origin isolated)";
  return info.backend;
}
