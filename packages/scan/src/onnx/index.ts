export {
  emitCausalConv1d,
  emitCausalConv1dUpdate,
  type OnnxConvConfig,
  type OnnxConvInputs,
  type OnnxConvUpdateInputs,
} from "./causal-conv.js";
export { softplusTorch } from "./common.js";
export { createOnnxKernel, type OnnxKernelOptions } from "./onnx-kernel.js";
export type { ScanLayout } from "./scan-layout.js";
export type { ScanSchedule } from "./scan-recurrence.js";
export {
  emitSelectiveScan,
  emitSelectiveStateUpdate,
  type OnnxScanConfig,
  type OnnxScanInputs,
  type OnnxStateUpdateConfig,
  type OnnxStateUpdateInputs,
} from "./selective-scan.js";
