import {
  type Backend,
  type FloatTensor,
  f32,
  floatTensor,
  type InferenceSession,
  InvalidArgumentError,
  ModelFormatError,
  type OpenedSession,
  type OrtModule,
  openSession,
  type Projector,
  RUN_ONCE_SESSION,
  type SessionOptions,
  type WeightSource,
} from "@cobra-ts/core";
import { PROJECTOR_INPUT, PROJECTOR_OUTPUT, projectorModelBytes } from "./graph.js";
import type { ProjectorDims } from "./layers.js";
import type { ProjectorVariant } from "./variants.js";

/** A projector graph running in the onnxruntime module and backend it was loaded with. */
export class OnnxProjector implements Projector {
  /** Where this projector runs. */
  readonly backend: Backend;
  private readonly session: InferenceSession;
  /** The session's onnxruntime module: input tensors are made with it. */
  readonly ort: OrtModule;

  /** [numPatches, visionDim] in, [outputTokens, llmDim] out, per image. */
  private constructor(
    opened: OpenedSession,
    readonly numPatches: number,
    readonly visionDim: number,
    readonly outputTokens: number,
    readonly llmDim: number,
  ) {
    ({ session: this.session, ort: this.ort, backend: this.backend } = opened);
  }

  /** Loads a projector graph (a path in Node, or bytes); its sizes are read from the graph's own signature. */
  static async load(model: string | Uint8Array, options: SessionOptions = {}): Promise<OnnxProjector> {
    const opened = await openSession(model, { ...RUN_ONCE_SESSION, ...options });
    const { session } = opened;
    try {
      const where = typeof model === "string" ? model : "projector model bytes";
      const [numPatches, visionDim] = fixedTrailingDims(session.inputMetadata, PROJECTOR_INPUT, where);
      const [outputTokens, llmDim] = fixedTrailingDims(session.outputMetadata, PROJECTOR_OUTPUT, where);
      return new OnnxProjector(opened, numPatches, visionDim, outputTokens, llmDim);
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

  async project(features: FloatTensor): Promise<FloatTensor> {
    const [batch, patches, dim] = features?.shape ?? [];
    if (
      !(features?.data instanceof Float32Array) ||
      features.shape.length !== 3 ||
      patches !== this.numPatches ||
      dim !== this.visionDim ||
      !Number.isInteger(batch) ||
      batch < 1 ||
      features.data.length !== batch * patches * dim
    )
      throw new InvalidArgumentError(
        `project: features must be float32 [batch, ${this.numPatches}, ${this.visionDim}], got ` +
          `${features?.data instanceof Float32Array ? `[${features.shape}] with ${features.data.length} values` : typeof features}`,
      );
    const input = floatTensor(this.ort, features.data, [batch, this.numPatches, this.visionDim]);
    const out = await this.session.run({ [PROJECTOR_INPUT]: input });
    // Outputs land in CPU memory (onnxruntime's default output location, on every backend).
    return f32([batch, this.outputTokens, this.llmDim], out[PROJECTOR_OUTPUT].data as Float32Array);
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
