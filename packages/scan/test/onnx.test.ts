// The ONNX emitters, run in onnxruntime-node (and once in onnxruntime-web) through the ONNX-backed ScanKernel: every fixture case and the
// consistency checks, in both forms (standard ops; onnxruntime's contrib ops), each schedule of the standard
// form, and every input layout (the kernel transposes around the emitter for channels-last and time-major).
import { createOnnxKernel, type OnnxKernelOptions } from "../src/onnx/onnx-kernel.js";
import { FIXTURE_TOL, kernelSuite } from "./suite.js";

// The emitters take B/C without groups and conv widths >= 2.
const coverage = { groups: false, width1: false };

const variants: [string, OnnxKernelOptions][] = [
  ["onnx standard ops (Scan, Conv)", { form: "standard" }],
  ["onnx standard ops, y inside the Scan", { form: "standard", scanSchedule: "inside" }],
  ["onnx standard ops, whole step inside the Scan", { form: "standard", scanSchedule: "per-token" }],
  ["onnx standard ops, channels-last scan inputs", { form: "standard", scanLayout: "channels-last" }],
  ["onnx contrib ops (LinearAttention, CausalConvWithState)", { form: "contrib" }],
  ["onnx contrib ops, channels-last scan inputs", { form: "contrib", scanLayout: "channels-last" }],
  [
    "onnx standard ops, time-major scan inputs, per-token",
    { form: "standard", scanLayout: "time-major", scanSchedule: "per-token" },
  ],
  ["onnx contrib ops, time-major scan inputs", { form: "contrib", scanLayout: "time-major" }],
  // The kernel's inputs are tensors of its own backend's module: onnxruntime-web beside onnxruntime-node.
  ["onnx standard ops on the wasm backend (onnxruntime-web)", { form: "standard", backend: "wasm" }],
];
for (const [name, options] of variants)
  kernelSuite(name, async () => createOnnxKernel({ ...options, threads: 1 }), FIXTURE_TOL, coverage);
