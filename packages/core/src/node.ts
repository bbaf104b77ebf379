// The Node entry: everything in index.ts plus what reads and writes files (weights files, ONNX external data).
export * from "./index.js";
export * from "./onnx/external-data.js";
export * from "./onnx/external-data-paths.js";
export * from "./onnx/initializer-files.js";
export * from "./onnx/onnx-weights.js";
export * from "./onnx/write-model.js";
export * from "./weights/open.js";
export * from "./weights/safetensors.js";
export { TorchCheckpoint, type TorchTensorLocation } from "./weights/torch/checkpoint.js";
export { unsafeEntryName, ZipArchive, type ZipEntry } from "./weights/torch/zip.js";
