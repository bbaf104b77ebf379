// The package's public ViT / encoder API (platform-independent), re-exported by src/index.ts.
export { concatFeatures, FusedEncoder } from "../encoders/fused.js";
export { ImageEncoder, type ImagePreprocessing } from "../encoders/image-encoder.js";
export {
  readVitEncoderPartConfig,
  type VitEncoderPartConfig,
  type VitTowerConfig,
  visionEncoderLoaders,
  vitEncoderPart,
} from "../encoders/part-loader.js";
export type { EncodedFeatures, PixelEncoder, PixelSpec } from "../encoders/types.js";
export { batchOf, pixelSpecOf, VitEncoder } from "../encoders/vit-encoder.js";
export { resolveVitConfig, type VitBuildOptions, type VitConfig } from "./config.js";
export { vitConfigFromOpenClipConfig, vitConfigFromTimmConfig } from "./config-files.js";
export {
  buildVitGraph,
  VIT_FEATURES_OUTPUT,
  VIT_PIXELS_INPUT,
  type VitGraphOptions,
  type VitGraphTensors,
  vitTensorsFromRelease,
} from "./graph.js";
export { buildVitModel, VIT_OPSET, vitModelOptions } from "./model.js";
export {
  type AxisWeights,
  antialiasBicubicWeights,
  resampleAbsPosEmbed,
  resampleGrid,
} from "./resample-pos-embed.js";
export {
  stripPretrainedTag,
  TIMM_VIT_ARCHITECTURES,
  TIMM_VIT_DEFAULTS,
  type TimmArchitecture,
  type TimmDataConfig,
  type TimmVitArgs,
} from "./timm-architectures.js";
export {
  expectedVitTensors,
  OPEN_CLIP_TRUNK_PREFIX,
  posEmbedPrefixRows,
  timmTrunk,
  validateVitWeights,
} from "./weights.js";
