/**
 * Reference implementations for checking other implementations (tests, ablations): the plain-TS float64 Mamba
 * forward, the same behind the LanguageModel contract, and synthetic weights. Exact and slow: tiny models only.
 */

export { referenceLogits, referenceLogitsOfRows } from "./reference/float64-forward.js";
export { ReferenceLanguageModel, type ReferenceState } from "./reference/reference-lm.js";
export { syntheticMambaSource } from "./reference/synthetic-weights.js";
