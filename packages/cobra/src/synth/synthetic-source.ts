import { f32, InvalidArgumentError, type Tensor, type TensorInfo, type WeightSource } from "@cobra-ts/core";
import { fillTensor, type SyntheticTensor } from "./random-tensor.js";

/**
 * A WeightSource whose tensors are generated when read: every streaming writer of the other packages
 * (writeLanguageModel, writeVitModel, writeProjectorModel) turns it into a real-shape model with no new
 * writer code, and only the tensor being written is ever in memory.
 */
export class SyntheticWeightSource implements WeightSource {
  constructor(
    readonly path: string,
    private readonly tensors: ReadonlyMap<string, SyntheticTensor>,
    private readonly seed: number,
  ) {}

  keys(): string[] {
    return [...this.tensors.keys()];
  }
  has(key: string): boolean {
    return this.tensors.has(key);
  }
  info(key: string): TensorInfo {
    return { dtype: "F32", shape: [...this.get(key).shape] };
  }
  async read(key: string): Promise<Tensor> {
    const t = this.get(key);
    return f32([...t.shape], fillTensor(key, t, this.seed));
  }
  async close(): Promise<void> {}

  private get(key: string): SyntheticTensor {
    const t = this.tensors.get(key);
    if (!t) throw new InvalidArgumentError(`${this.path} has no tensor "${key}"`);
    return t;
  }
}
