/** Test support for other packages' suites (not for product code): the plain-TS float64 Mamba forward. */

export { syntheticMambaSource } from "./test-support/memory-source.js";
export { referenceLogits, referenceLogitsOfRows } from "./test-support/reference-forward.js";
export { ReferenceLanguageModel, type ReferenceState } from "./test-support/reference-lm.js";
