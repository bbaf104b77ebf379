import {
  createSession,
  floatTensor,
  type InferenceSession,
  InvalidArgumentError,
  ModelFormatError,
  type SessionOptions,
  type WeightSource,
} from "@cobra-ts/core";
import { PROJECTOR_INPUT, PROJECTOR_OUTPUT, projectorModelBytes } from "./graph.js";
import type { ProjectorDims } from "./layers.js";
import type { ProjectorVariant } from "./variants.js";

/** Row-major projected embeddings with their shape [batch, P, d_model]. */
export interface ProjectedFeatures {
  data: Float32Array;
  dims: [batch: number, tokens: number, llmDim: number];
}

/** Maps fused patch features [batch, N, D] to LM input embeddings [batch, P, d_model]. */
export interface Projector {
  readonly numPatches: number;
  readonly visionDim: number;
  readonly outputTokens: number;
  readonly llmDim: number;
  /** `features` is row-major [batch, numPatches, visionDim]. */
  project(features: Float32Array, batch: number): Promise<ProjectedFeatures>;
  release(): Promise<void>;
}

/** A projector graph running in onnxruntime (Node or web, whichever `useOrt` configured). */
export class OnnxProjector implements Projector {
  private constructor(
    private readonly session: InferenceSession,
    readonly numPatches: number,
    readonly visionDim: number,
    readonly outputTokens: number,
    readonly llmDim: number,
  ) {}

  /** Loads a projector graph (a path in Node, or bytes); its sizes are read from the graph's own signature. */
  static async load(model: string | Uint8Array, options: SessionOptions = {}): Promise<OnnxProjector> {
    const session = await createSession(model, options);
    try {
      const where = typeof model === "string" ? model : "projector model bytes";
      const [numPatches, visionDim] = fixedTrailingDims(session.inputMetadata, PROJECTOR_INPUT, where);
      const [outputTokens, llmDim] = fixedTrailingDims(session.outputMetadata, PROJECTOR_OUTPUT, where);
      return new OnnxProjector(session, numPatches, visionDim, outputTokens, llmDim);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Builds the graph from a projector state dict (inline weights) and opens it. */
  static async fromWeights(
    variant: ProjectorVariant,
    weights: WeightSource,
    dims?: ProjectorDims,
    options: SessionOptions = {},
  ): Promise<OnnxProjector> {
    return OnnxProjector.load(await projectorModelBytes(variant, weights, dims), options);
  }

  async project(features: Float32Array, batch: number): Promise<ProjectedFeatures> {
    if (!Number.isInteger(batch) || batch < 1)
      throw new InvalidArgumentError(`project: batch must be a positive integer, got ${batch}`);
    const expected = batch * this.numPatches * this.visionDim;
    if (!(features instanceof Float32Array) || features.length !== expected)
      throw new InvalidArgumentError(
        `project: features must be a Float32Array of batch x ${this.numPatches} x ${this.visionDim} = ${expected} ` +
          `values, got ${features instanceof Float32Array ? features.length : typeof features}`,
      );
    const input = await floatTensor(features, [batch, this.numPatches, this.visionDim]);
    const out = await this.session.run({ [PROJECTOR_INPUT]: input });
    const projected = out[PROJECTOR_OUTPUT];
    // Outputs land in CPU memory (onnxruntime's default output location, on every backend).
    return { data: projected.data as Float32Array, dims: [batch, this.outputTokens, this.llmDim] };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

type ValueMetadata = InferenceSession["inputMetadata"][number];

function fixedTrailingDims(meta: readonly ValueMetadata[], name: string, where: string): [number, number] {
  const m = meta.find((v) => v.name === name);
  if (!m?.isTensor || m.type !== "float32")
    throw new ModelFormatError(`${where}: not a projector graph (no float32 tensor named "${name}")`);
  const [, tokens, channels] = m.shape;
  if (m.shape.length !== 3 || typeof tokens !== "number" || typeof channels !== "number")
    throw new ModelFormatError(
      `${where}: "${name}" should be [batch, tokens, channels] with fixed sizes, got [${m.shape}]`,
    );
  return [tokens, channels];
}
