// The Node entry: everything in index.ts plus writing a converted projector to disk.

export { openConvertedProjectorWeights } from "./converted.js";
export * from "./index.js";
export { type WriteProjectorOptions, type WrittenProjector, writeProjectorModel } from "./write-model.js";
