// The Node entry: everything in index.ts plus what reads and writes files. Its MambaLM also loads a converted
// folder or an .onnx path (an explicit export wins over the `export *` of the same name).

export { writeLanguageModel } from "./graph/write-language-model.js";
export * from "./index.js";
export { MambaLM, mambaLmLoaders } from "./model/mamba-lm-node.js";
export { loadMambaTokenizer } from "./tokenizer/load-node.js";
export { openConvertedLmWeights } from "./weights/converted-lm-weights.js";
