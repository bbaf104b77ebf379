export * from "./errors.js";
export * from "./tensor.js";
export * from "./weights/source.js";
export * from "./weights/safetensors.js";
