// The platform-independent entry (browsers, workers, Node). What reads or writes files is in ./node.ts.
export * from "./contracts.js";
export * from "./errors.js";
export * from "./model-parts.js";
export * from "./onnx/builder.js";
export * from "./onnx/dtypes.js";
export * from "./onnx/initializer-sink.js";
export * from "./onnx/inspect.js";
export * from "./quant/blockwise.js";
export * from "./quant/linear-storage.js";
export * from "./runtime/ort.js";
export * from "./tensor.js";
export * from "./weights/memory.js";
export * from "./weights/source.js";
export * from "./weights/storage.js";
export { type StorageRef, TensorRef } from "./weights/torch/allow-list.js";
export { PyDict, PyGlobal, PySet, type UnpickleOptions, unpickle } from "./weights/torch/pickle.js";
