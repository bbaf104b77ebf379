import type { GraphBuilder } from "./builder.js";

/**
 * Where a graph's weight tensors go as a model is built: inside the model bytes, or straight into external
 * data files (so conversion never holds more than one tensor). Returns the initializer's value name.
 */
export type InitializerSink = (
  g: GraphBuilder,
  name: string,
  dims: number[],
  data: Float32Array,
) => Promise<string>;

/** Weights kept in the model bytes (small models only: protobuf caps a model at 2 GB). */
export const inlineInitializers: InitializerSink = async (g, name, dims, data) =>
  g.initializer(name, "float32", dims, data);
