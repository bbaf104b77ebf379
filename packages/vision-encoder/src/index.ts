/**
 * @cobra-ts/vision-encoder, platform-independent part: the RgbImage type, Pillow-exact preprocessing and the
 * pure TypeScript PNG/GIF decoders. Decoding from files or browser objects lives in ./node.ts and ./browser.ts.
 */

export { decodeGifFirstFrame } from "./codecs/gif.js";
export { type ImageSize, readHeaderSize } from "./codecs/header-size.js";
export {
  type ColourModel,
  type DecodedSamples,
  inkToRgb,
  mulDiv255,
  pilRgbFromSamples,
} from "./codecs/pil-convert.js";
export { decodePng } from "./codecs/png.js";
export { type ImageFormat, SUPPORTED_FORMATS, sniffImageFormat } from "./codecs/sniff.js";
export { checkPixelLimit, DEFAULT_MAX_PIXELS, type DecodeOptions } from "./decode-options.js";
export { assertRgbImage, createRgbImage, type RgbImage } from "./image.js";
export {
  COBRA_IMAGE_SIZE,
  ENCODER_NORMALIZATION,
  type EncoderKind,
  type EncoderNormalization,
  type EncoderSpec,
  normalizationOf,
} from "./preprocess/encoders.js";
export {
  centerCrop,
  crop,
  letterboxPad,
  padConstant,
  type Rgb,
  resizeShortSide,
  roundHalfEven,
  shortSideSize,
} from "./preprocess/geometry.js";
export { type Triple, toChwU8, toNormalizedChw } from "./preprocess/normalize.js";
export {
  bicubicCoefficients,
  type ResampleCoefficients,
  resizeBicubicPil,
} from "./preprocess/pil-resample.js";
export {
  encoderTensors,
  type PreprocessedImage,
  type PreprocessOptions,
  preprocess,
  preprocessDinoSiglip,
  RESIZE_STRATEGIES,
  type ResizeStrategy,
  resizeForEncoder,
} from "./preprocess/strategies.js";

// ViT backbones from timm weights as ONNX graphs, pixel encoders (normalized pixels -> features) and the
// ImageEncoder that implements the core VisionEncoder contract (decoded image -> features).
// Node-only conversion helpers (openVitRelease, writeVitModel) are in ./vit/node.ts.
export * from "./vit/api.js";
