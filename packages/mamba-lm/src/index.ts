// The platform-independent entry (browsers, workers, Node). Reading and writing files is in ./node.ts.

export { parseMambaConfig } from "./config/from-json.js";
export { inferMambaConfig, inferTiedMambaConfig } from "./config/from-weights.js";
export {
  type MambaConfig,
  type MambaConfigInput,
  resolveMambaConfig,
  stateFloatsPerSequence,
} from "./config/mamba-config.js";
export {
  type GenerateOptions,
  type GenerateResult,
  generate,
  type StreamChunk,
  streamGenerate,
} from "./generate/generate.js";
export { type GenerateBatchOptions, generateBatch } from "./generate/generate-batch.js";
export { limitPromptIds, type PromptLengthOptions } from "./generate/prompt-ids.js";
export {
  checkSequenceOptions,
  GeneratedSequence,
  type GenerationTokenizer,
  type SequenceOptions,
} from "./generate/sequence.js";
export {
  buildLanguageModel,
  type ConversionProgress,
  type ConvertedLanguageModel,
  type ConvertOptions,
  LM_FORMAT_VERSION,
} from "./graph/convert.js";
export * as lmGraphNames from "./graph/io-names.js";
export { LM_DATA_FILE, LM_GRAPH_FILE } from "./graph/lm-files.js";
export {
  checkLmQuantization,
  LM_DTYPES,
  type LmBlockQuantization,
  type LmDtype,
  type LmFloat16,
  type LmQuantization,
  lmQuantizationFor,
} from "./graph/lm-quantization.js";
export { emitMambaLM, type MambaGraphOptions } from "./graph/mamba-graph.js";
export { type RuntimeTensor, runtimeTensors } from "./graph/runtime-tensors.js";
export {
  readScanRegions,
  SCAN_REGIONS_METADATA,
  type ScanForm,
  type ScanRegion,
  type ScanRegions,
} from "./graph/scan-regions.js";
export type { FloatRows, ForwardInput, TokenIds } from "./model/inputs.js";
export { KernelScanSession, type LmSession } from "./model/kernel-scan-session.js";
export {
  type ForwardResult,
  type GraphToOpen,
  type LanguageModelBytes,
  type LoadOptions,
  type LoadProgress,
  MambaLM,
  type RunOptions,
} from "./model/mamba-lm.js";
export { MambaState } from "./model/mamba-state.js";
export {
  type MambaLmPartConfig,
  type MambaTokenizerPartConfig,
  mambaLmLoader,
  mambaLmLoaders,
  mambaLmPart,
  mambaTokenizerLoader,
  mambaTokenizerPart,
  type OpenMambaGraph,
  readMambaLmPartConfig,
} from "./model/part-loader.js";
export { defaultScanKernel, scanKernelFor } from "./model/scan-kernel-choice.js";
export type { LanguageModelDims } from "./model/state-dims.js";
export { pythonRstrip, pythonSplit, pythonStrip } from "./prompt/python-strip.js";
export {
  applyRepetitionPenalty,
  applyTemperature,
  filterMinPMamba122,
  filterTopP,
  softmaxWeights,
} from "./sampling/logits-processors.js";
export {
  type ResolvedSamplingOptions,
  resolveSamplingOptions,
  type SamplingOptions,
} from "./sampling/options.js";
export { createRng, type Rng, randomSeed, Xoshiro128StarStar } from "./sampling/rng.js";
export { argmax, drawIndex, largestK, sampleNextToken } from "./sampling/sample.js";
export {
  findStopString,
  type StopCheck,
  StopCriteria,
  type StopOptions,
  type StopReason,
  stopStringPrefixLength,
} from "./stop.js";
export { cleanUpTokenizationSpaces, stableCleanUpCut } from "./tokenizer/clean-up.js";
export { DecodeStream } from "./tokenizer/decode-stream.js";
export {
  type DecodeOptions,
  MambaTokenizer,
  type TokenizerJson,
} from "./tokenizer/mamba-tokenizer.js";
export { type StreamDecoderOptions, TokenStreamDecoder } from "./tokenizer/stream-decoder.js";
export { expectedMambaShapes } from "./weights/expected-shapes.js";
export { locateMambaWeights, type MambaWeightLayout, MambaWeights } from "./weights/mamba-weights.js";
export { validateMambaWeights } from "./weights/validate.js";
