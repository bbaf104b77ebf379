// Node-only entry point: everything in index.ts plus helpers that read from the file system.
export * from "./index.js";
export { loadMambaTokenizer } from "./tokenizer/load-node.js";
