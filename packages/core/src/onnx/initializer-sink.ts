import type { GraphBuilder } from "./builder.js";
import type { OnnxElementType } from "./dtypes.js";

/** What a sink stores: fp32 weights, quantized codes (uint8) or fp16 weights (their bits, as Uint16Array). */
export type InitializerData = Float32Array | Uint8Array | Uint16Array;

/** The ONNX element type of initializer data: Uint16Array holds float16 bits (JS has no Float16Array in Node 20). */
export function initializerType(data: InitializerData): OnnxElementType {
  return data instanceof Float32Array ? "float32" : data instanceof Uint8Array ? "uint8" : "float16";
}

/**
 * Where a graph's weight tensors go as a model is built: inside the model bytes, or straight into external
 * data files (so conversion never holds more than one tensor). Returns the initializer's value name.
 */
export type InitializerSink = (
  g: GraphBuilder,
  name: string,
  dims: number[],
  data: InitializerData,
) => Promise<string>;

/** Weights kept in the model bytes (small models only: protobuf caps a model at 2 GB). */
export const inlineInitializers: InitializerSink = async (g, name, dims, data) =>
  g.initializer(name, initializerType(data), dims, data);
