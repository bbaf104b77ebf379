// Node only: the float32 initializers of a graph this project wrote, read back as a WeightSource, so a part
// converted at fp32 can be written again at another dtype by the same writer, without the release files.
import { readFile } from "node:fs/promises";
import { InvalidArgumentError, ModelFormatError } from "../errors.js";
import { DTYPE_METADATA } from "../quant/linear-storage.js";
import { f32 } from "../tensor.js";
import type { WeightSource } from "../weights/source.js";
import { initializerFiles } from "./initializer-files.js";
import { inspectModel, type ModelInspection } from "./inspect.js";

/** A graph file's float32 initializers by name, and its metadata (how the graph says it is stored). */
export interface OnnxWeights extends WeightSource {
  readonly metadata: ModelInspection["metadata"];
}

/**
 * Opens the graph at `graphPath`: every float32 initializer, as stored (inside the model or in its external
 * data files, read one tensor at a time), under its initializer name. Other element types are not keys: a
 * quantized or float16 graph has none of its weights here.
 */
export async function openOnnxWeights(graphPath: string): Promise<OnnxWeights> {
  const model = inspectModel(await readFile(graphPath), graphPath);
  const shapes = new Map<string, number[]>();
  for (const name of model.initializerNames) {
    const t = model.initializer(name);
    if (t?.type === "float32") shapes.set(name, t.dims);
  }
  const files = initializerFiles(graphPath, "a weight");
  const shapeOf = (key: string) => {
    const shape = shapes.get(key);
    if (!shape) throw new InvalidArgumentError(`${graphPath} holds no float32 initializer "${key}"`);
    return shape;
  };
  return {
    path: graphPath,
    metadata: model.metadata,
    keys: () => [...shapes.keys()],
    has: (key) => shapes.has(key),
    info: (key) => ({ dtype: "F32", shape: [...shapeOf(key)] }),
    async read(key) {
      const shape = shapeOf(key);
      const bytes = model.initializer(key)!;
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      const stored = bytes.raw?.byteLength ?? bytes.external?.length;
      if (stored !== data.byteLength)
        throw new ModelFormatError(
          `${graphPath}: "${key}" is ${stored ?? "no"} bytes, not ${data.byteLength}`,
        );
      await files.read(bytes, 0, new Uint8Array(data.buffer));
      return f32([...shape], data);
    },
    close: () => files.close(),
  };
}

/**
 * openOnnxWeights for a graph that must hold fp32 weights (to be written again at another dtype): refused when
 * its metadata records another dtype, whatever the manifest beside it says (see linearQuantizationMetadata). `what` names it in the error.
 */
export async function openFp32Graph(graphPath: string, what: string): Promise<OnnxWeights> {
  const graph = await openOnnxWeights(graphPath);
  const dtype = graph.metadata[DTYPE_METADATA];
  if (dtype !== undefined && dtype !== "fp32") {
    await graph.close();
    throw new ModelFormatError(
      `${graphPath}: the ${what} graph is stored as ${dtype} (its ${DTYPE_METADATA} metadata), not fp32`,
    );
  }
  return graph;
}
