// Node only: the fp32 weights of an LM this project converted, read back from lm.onnx and its external data
// under the canonical names, so `cobra quantize` can write another dtype without the release files.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  f32,
  type InitializerBytes,
  InvalidArgumentError,
  inspectModel,
  ModelFormatError,
  type Tensor,
  type WeightSource,
} from "@cobra-ts/core";
import { resolveMambaConfig } from "../config/mamba-config.js";
import { lmDtypeOf } from "../graph/lm-quantization.js";
import { type RuntimeTensor, runtimeTensors, transpose2d } from "../graph/runtime-tensors.js";
import { initializerFiles } from "../model/initializer-files.js";
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
  const graphPath = join(dir, part.graph);
  const model = inspectModel(await readFile(graphPath), graphPath);
  const tensors = new Map<string, { t: RuntimeTensor; bytes: InitializerBytes }>();
  for (const t of runtimeTensors(config)) {
    const bytes = model.initializer(t.name);
    if (!bytes || bytes.type !== "float32" || bytes.dims.join() !== t.shape.join())
      throw new ModelFormatError(
        `${graphPath}: "${t.name}" should be float32 [${t.shape}], found ${bytes ? `${bytes.type} [${bytes.dims}]` : "nothing"}`,
      );
    tensors.set(t.source, { t, bytes });
  }
  const files = initializerFiles(graphPath, "an LM tensor");
  const read = async (key: string): Promise<Tensor> => {
    const entry = tensors.get(key);
    if (!entry) throw new InvalidArgumentError(`${graphPath} holds no LM tensor "${key}"`);
    const { t, bytes } = entry;
    const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    const stored = bytes.raw?.byteLength ?? bytes.external?.length;
    if (stored === undefined) throw new ModelFormatError(`${graphPath}: "${t.name}" has no data`);
    if (stored !== data.byteLength)
      throw new ModelFormatError(`${graphPath}: "${t.name}" is ${stored} bytes, not ${data.byteLength}`);
    await files.read(bytes, 0, new Uint8Array(data.buffer));
    // Stored [in, out] for MatMul: back to torch's [out, in].
    return t.transpose
      ? f32([t.shape[1], t.shape[0]], transpose2d(data, t.shape[0], t.shape[1]))
      : f32(t.shape, data);
  };
  const source: WeightSource = {
    path: graphPath,
    keys: () => [...tensors.keys()],
    has: (k) => tensors.has(k),
    info: (k) => {
      const e = tensors.get(k);
      if (!e) throw new InvalidArgumentError(`${graphPath} holds no LM tensor "${k}"`);
      return { dtype: "F32", shape: e.t.transpose ? [e.t.shape[1], e.t.shape[0]] : [...e.t.shape] };
    },
    read,
    close: () => files.close(),
  };
  return source;
}
