import { WeightsFormatError } from "../errors.js";
import type { DType, Tensor, TypedArray } from "../tensor.js";
import type { TensorInfo, WeightSource } from "./source.js";

/** A tensor given by value; `dtype` defaults to F32. */
export interface TensorInit {
  shape: number[];
  data: TypedArray;
  dtype?: DType;
}

/** A WeightSource over tensors already in memory: weights built in code, ablations, tests. */
export class MemoryWeights implements WeightSource {
  readonly tensors: ReadonlyMap<string, Tensor>;

  constructor(
    tensors: ReadonlyMap<string, Tensor> | Record<string, TensorInit>,
    readonly path = "<memory>",
  ) {
    this.tensors =
      tensors instanceof Map
        ? tensors
        : new Map(
            Object.entries(tensors as Record<string, TensorInit>).map(([k, t]) => [
              k,
              { dtype: t.dtype ?? "F32", shape: t.shape, data: t.data },
            ]),
          );
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }
  has(key: string): boolean {
    return this.tensors.has(key);
  }
  info(key: string): TensorInfo {
    const t = this.get(key);
    return { dtype: t.dtype, shape: [...t.shape] };
  }
  async read(key: string): Promise<Tensor> {
    const t = this.get(key);
    return { ...t, shape: [...t.shape] };
  }
  async close(): Promise<void> {}

  private get(key: string): Tensor {
    const t = this.tensors.get(key);
    if (!t) throw new WeightsFormatError(this.path, `no tensor named "${key}"`);
    return t;
  }
}
