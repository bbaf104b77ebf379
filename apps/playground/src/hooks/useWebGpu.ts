import { useEffect, useState } from "react";
import { detectWebGpu, type WebGpuSupport } from "../lib/webgpu";

/** null while the adapter request is pending. */
export function useWebGpu(): WebGpuSupport | null {
  const [support, setSupport] = useState<WebGpuSupport | null>(null);
  useEffect(() => {
    let live = true;
    detectWebGpu().then((s) => live && setSupport(s));
    return () => {
      live = false;
    };
  }, []);
  return support;
}
