// Node only: the fp32 weights of an LM this project converted, read back from lm.onnx and its external data
// under the canonical names, so `cobra quantize` can write another dtype without the release files.
import { join } from "node:path";
import { f32, InvalidArgumentError, ModelFormatError, type WeightSource } from "@cobra-ts/core";
import { openOnnxWeights } from "@cobra-ts/core/node";
import { resolveMambaConfig } from "../config/mamba-config.js";
import { lmDtypeOf } from "../graph/lm-quantization.js";
import { type RuntimeTensor, runtimeTensors, transpose2d } from "../graph/runtime-tensors.js";
import type { MambaLmPartConfig } from "../model/part-loader.js";

/**
 * Opens the LM of a converted folder `dir`, described by its manifest's "mamba-lm" part config, as a
 * WeightSource of canonical Mamba names (`embedding.weight`, `layers.0.mixer.in_proj.weight` [out, in], ...).
 * Only an fp32 conversion can be read: quantizing an already quantized LM again would add its error to the
 * first one.
 */
export async function openConvertedLmWeights(dir: string, part: MambaLmPartConfig): Promise<WeightSource> {
  if (part.options.quantization)
    throw new InvalidArgumentError(
      `${dir} holds an LM already at ${lmDtypeOf(part.options.quantization)}; quantize from the fp32 conversion`,
    );
  const config = resolveMambaConfig(part.model);
  const graph = await openOnnxWeights(join(dir, part.graph));
  const tensors = new Map<string, RuntimeTensor>();
  for (const t of runtimeTensors(config)) {
    const shape = graph.has(t.name) ? graph.info(t.name).shape : null;
    if (shape?.join() !== t.shape.join()) {
      await graph.close();
      throw new ModelFormatError(
        `${graph.path}: "${t.name}" should be float32 [${t.shape}], found ${shape ? `[${shape}]` : "no float32 initializer"}`,
      );
    }
    tensors.set(t.source, t);
  }
  const entry = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw new InvalidArgumentError(`${graph.path} holds no LM tensor "${key}"`);
    return t;
  };
  return {
    path: graph.path,
    keys: () => [...tensors.keys()],
    has: (k) => tensors.has(k),
    info: (k) => {
      const t = entry(k);
      return { dtype: "F32", shape: t.transpose ? [t.shape[1], t.shape[0]] : [...t.shape] };
    },
    async read(k) {
      const t = entry(k);
      const data = (await graph.read(t.name)).data as Float32Array;
      // Stored [in, out] for MatMul: back to torch's [out, in].
      return t.transpose
        ? f32([t.shape[1], t.shape[0]], transpose2d(data, t.shape[0], t.shape[1]))
        : f32(t.shape, data);
    },
    close: () => graph.close(),
  };
}
