export * from "./errors.js";
export * from "./onnx/builder.js";
export * from "./onnx/dtypes.js";
export * from "./runtime/ort.js";
export * from "./tensor.js";
export * from "./weights/safetensors.js";
export * from "./weights/source.js";
export * from "./onnx/external-data.js";
