// The float64 reference forward behind the LanguageModel contract: a plain-TS language model with no onnxruntime
// and no class of this package's runtime, for proving that the composer takes any implementation. Its "state" is
// every input row so far (the forward is recomputed each call): exact, slow, for tiny models only.
import {
  f32,
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelInput,
  type LanguageModelOutput,
  type LanguageModelState,
  MemoryWeights,
  type Tensor,
  type WeightSource,
} from "@cobra-ts/core";
import type { MambaConfig } from "../config/mamba-config.js";
import { EMBEDDING, MambaWeights } from "../weights/mamba-weights.js";
import { referenceLogitsOfRows } from "./float64-forward.js";

export interface ReferenceState extends LanguageModelState {
  /** Per sequence: every row run so far, [positions, d_model]. */
  readonly rows: readonly Float64Array[];
}

function state(rows: readonly Float64Array[]): ReferenceState {
  return {
    rows,
    batch: rows.length,
    async toBytes() {
      return new Uint8Array(Float64Array.from(rows.flatMap((r) => [r.length, ...r])).buffer);
    },
  };
}

export class ReferenceLanguageModel implements LanguageModel<ReferenceState> {
  readonly vocabSize: number;
  readonly dModel: number;

  private constructor(
    private readonly weights: WeightSource,
    private readonly config: MambaConfig,
    private readonly embedding: Float32Array,
  ) {
    this.dModel = config.dModel;
    this.vocabSize = config.vocabSizePadded; // the head's rows, as the converted graph has them
  }

  /** Reads every tensor once (the forward reads them on each call). */
  static async load(source: WeightSource, config: MambaConfig): Promise<ReferenceLanguageModel> {
    const tensors = new Map<string, Tensor>();
    for (const key of source.keys()) tensors.set(key, await source.read(key));
    const weights = new MemoryWeights(tensors);
    const embedding = (await MambaWeights.from(weights).read(EMBEDDING)).data as Float32Array;
    return new ReferenceLanguageModel(weights, config, embedding);
  }

  newState(batch = 1): ReferenceState {
    return state(Array.from({ length: batch }, () => new Float64Array(0)));
  }

  async prefill(
    input: LanguageModelInput,
    from?: ReferenceState,
  ): Promise<LanguageModelOutput<ReferenceState>> {
    const d = this.dModel;
    const idRows =
      input.ids === undefined || input.ids.length === 0
        ? []
        : Array.isArray(input.ids[0])
          ? (input.ids as number[][])
          : [input.ids as number[]];
    const batch = Math.max(idRows.length, input.prefixEmbeds?.shape[0] ?? 0, 1);
    const start = from ?? this.newState(batch);
    if (start.batch !== batch)
      throw new InvalidArgumentError(`state has batch ${start.batch}, the input ${batch}`);
    const next: Float64Array[] = [];
    const logits = new Float32Array(batch * this.vocabSize);
    for (let b = 0; b < batch; b++) {
      const prefix = input.prefixEmbeds;
      const p = prefix ? prefix.shape[1] : 0;
      const ids = idRows[b] ?? [];
      const rows = new Float64Array(start.rows[b].length + (p + ids.length) * d);
      rows.set(start.rows[b]);
      let at = start.rows[b].length;
      if (prefix) rows.set(prefix.data.subarray(b * p * d, (b + 1) * p * d), at);
      at += p * d;
      for (const id of ids) {
        rows.set(this.embedding.subarray(id * d, (id + 1) * d), at);
        at += d;
      }
      const last = await referenceLogitsOfRows(this.weights, this.config, rows, { lastOnly: true });
      logits.set(last, b * this.vocabSize);
      next.push(rows);
    }
    return { logits: f32([batch, this.vocabSize], logits), state: state(next) };
  }

  step(ids: number | readonly number[], from: ReferenceState): Promise<LanguageModelOutput<ReferenceState>> {
    const row = typeof ids === "number" ? [ids] : ids;
    return this.prefill({ ids: row.map((id) => [id]) }, from);
  }

  restoreState(bytes: Uint8Array): ReferenceState {
    const all = new Float64Array(bytes.slice().buffer);
    const rows: Float64Array[] = [];
    for (let at = 0; at < all.length; ) {
      const n = all[at];
      rows.push(all.slice(at + 1, at + 1 + n));
      at += 1 + n;
    }
    return state(rows);
  }

  stackStates(states: readonly ReferenceState[]): ReferenceState {
    return state(states.flatMap((s) => s.rows));
  }

  selectRows(from: ReferenceState, rows: readonly number[]): ReferenceState {
    return state(rows.map((r) => from.rows[r]));
  }
}
