import type { ExternalDataWriter, GraphBuilder } from "@cobra-ts/core";

/** Where a graph's weight tensors go: inside the model, or streamed to external data files as they come. */
export interface InitializerSink {
  add(g: GraphBuilder, name: string, dims: number[], data: Float32Array): Promise<string>;
}

/** Weights kept in the model bytes (small models; protobuf caps a model at 2 GB). */
export const inlineInitializers: InitializerSink = {
  add: async (g, name, dims, data) => g.initializer(name, "float32", dims, data),
};

/** Weights written to external data now, so only one tensor is ever in memory. */
export function externalInitializers(writer: ExternalDataWriter): InitializerSink {
  return {
    add: async (g, name, dims, data) =>
      g.externalInitializer(name, "float32", dims, await writer.write(data)),
  };
}
