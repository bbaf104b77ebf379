import type { SyncScanKernel, SyncScanOps } from "./types.js";

/** Wraps synchronous ops into the uniform ScanKernel (async) interface plus the sync variants. */
export function syncKernel(name: string, ops: SyncScanOps, dispose: () => void = () => {}): SyncScanKernel {
  return {
    name,
    ...ops,
    selectiveScan: async (...a) => ops.selectiveScanSync(...a),
    selectiveStateUpdate: async (...a) => ops.selectiveStateUpdateSync(...a),
    causalConv1d: async (...a) => ops.causalConv1dSync(...a),
    causalConv1dUpdate: async (...a) => ops.causalConv1dUpdateSync(...a),
    dispose,
  };
}
