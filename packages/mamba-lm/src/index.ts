// Browser-safe entry point. Node-only helpers (loading files) are in ./node.ts.

export { createPromptBuilder } from "./prompt/for-backbone.js";
export { MambaPromptBuilder, PurePromptBuilder } from "./prompt/in-out.js";
export { buildPrompt, type PromptBuilder, type Role, type Turn } from "./prompt/prompt-builder.js";
export { pythonRstrip, pythonStrip } from "./prompt/python-strip.js";
export { ZephyrChatPromptBuilder } from "./prompt/zephyr-chat.js";
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
export {
  type DecodeOptions,
  MambaTokenizer,
  type TokenizerJson,
} from "./tokenizer/mamba-tokenizer.js";
export { type StreamDecoderOptions, TokenStreamDecoder } from "./tokenizer/stream-decoder.js";
