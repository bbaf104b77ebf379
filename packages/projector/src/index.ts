// The platform-independent entry (browsers, workers, Node). Writing a projector to disk is in ./node.ts.
export {
  type BuildProjectorOptions,
  buildProjectorGraph,
  PROJECTOR_INPUT,
  PROJECTOR_OUTPUT,
  projectorModelBytes,
  projectorModelOptions,
} from "./graph.js";
export {
  COBRA_NUM_PATCHES,
  checkDims,
  type ExpectedTensor,
  expectedProjectorTensors,
  LDP_POOLED_GRID,
  type ProjectorDims,
  type ProjectorLayer,
  projectedTokens,
  projectorLayers,
} from "./layers.js";
export { OnnxProjector } from "./onnx-projector.js";
export {
  type ProjectorPartConfig,
  projectorLoaders,
  projectorPart,
  readProjectorPart,
} from "./part-loader.js";
export { adaptiveAvgPoolMatrix, adaptiveBins } from "./pooling.js";
export { inferProjectorDims, validateProjectorWeights } from "./validate.js";
export {
  isProjectorVariant,
  PROJECTOR_VARIANTS,
  type ProjectorSpec,
  type ProjectorVariant,
  projectorSpecFromArchSpecifier,
} from "./variants.js";
