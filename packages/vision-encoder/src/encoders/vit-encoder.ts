import {
  type Backend,
  f32,
  type InferenceSession,
  InvalidArgumentError,
  ModelFormatError,
  type OpenedSession,
  type OrtModule,
  openSession,
  RUN_ONCE_SESSION,
  type SessionOptions,
  type WeightSource,
} from "@cobra-ts/core";
import type { VitConfig } from "../vit/config.js";
import { VIT_FEATURES_OUTPUT, VIT_PIXELS_INPUT } from "../vit/graph.js";
import { buildVitModel } from "../vit/model.js";
import type { EncodedFeatures, PixelEncoder, PixelSpec } from "./types.js";

/** The pixels a ViT built from `config` expects, under the name `name`. */
export function pixelSpecOf(config: VitConfig, name: string): PixelSpec {
  return {
    name,
    imageSize: config.imageSize,
    mean: config.data.mean,
    std: config.data.std,
    interpolation: config.data.interpolation,
  };
}

/** Checks that `data` holds whole [batch, 3, size, size] images and returns the batch. */
export function batchOf(data: Float32Array, spec: PixelSpec): number {
  const perImage = 3 * spec.imageSize * spec.imageSize;
  const batch = data.length / perImage;
  if (data.length === 0 || !Number.isInteger(batch))
    throw new InvalidArgumentError(
      `${spec.name} pixels: ${data.length} values is not a whole number of 3x${spec.imageSize}x${spec.imageSize} images`,
    );
  return batch;
}

/** One ViT backbone (an ONNX graph from buildVitModel / writeVitModel) in one onnxruntime session. */
export class VitEncoder implements PixelEncoder {
  readonly inputs: readonly PixelSpec[];
  readonly numPatches: number;
  readonly featureDim: number;
  /** Where this encoder runs. */
  readonly backend: Backend;
  private readonly session: InferenceSession;
  /** The onnxruntime module the session belongs to: input tensors are made with it. */
  readonly ort: OrtModule;

  private constructor(opened: OpenedSession, spec: PixelSpec, config: VitConfig) {
    ({ session: this.session, ort: this.ort, backend: this.backend } = opened);
    this.inputs = [spec];
    this.numPatches = config.numPatches;
    this.featureDim = config.embedDim;
  }

  /** From a model path (Node; external data next to it, see nodeSessionOptions for wasm) or bytes. */
  static async create(
    model: string | Uint8Array,
    config: VitConfig,
    name: string,
    options: SessionOptions = {},
  ): Promise<VitEncoder> {
    const opened = await openSession(model, { ...RUN_ONCE_SESSION, ...options });
    const { session } = opened;
    if (
      !session.inputNames.includes(VIT_PIXELS_INPUT) ||
      !session.outputNames.includes(VIT_FEATURES_OUTPUT)
    ) {
      await session.release();
      throw new ModelFormatError(
        `${typeof model === "string" ? model : `${name} model`} is not a ViT encoder graph: it maps ${session.inputNames.join(", ")} -> ${session.outputNames.join(", ")}, not "${VIT_PIXELS_INPUT}" -> "${VIT_FEATURES_OUTPUT}"`,
      );
    }
    return new VitEncoder(opened, pixelSpecOf(config, name), config);
  }

  /** Builds the graph in memory with inline weights: small models only (protobuf's 2 GB cap). */
  static async fromWeights(
    config: VitConfig,
    weights: WeightSource,
    name: string,
    options: SessionOptions = {},
  ): Promise<VitEncoder> {
    return VitEncoder.create(await buildVitModel(config, weights), config, name, options);
  }

  async encode(pixels: readonly Float32Array[]): Promise<EncodedFeatures> {
    const [spec] = this.inputs;
    if (pixels.length !== 1)
      throw new InvalidArgumentError(`${spec.name} encoder takes 1 pixel tensor, got ${pixels.length}`);
    const batch = batchOf(pixels[0], spec);
    const input = new this.ort.Tensor("float32", pixels[0], [batch, 3, spec.imageSize, spec.imageSize]);
    const out = await this.session.run({ [VIT_PIXELS_INPUT]: input });
    const features = out[VIT_FEATURES_OUTPUT];
    return f32([batch, this.numPatches, this.featureDim], features.data as Float32Array);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
