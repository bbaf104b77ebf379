export * from "./convert/convert.js";
export * from "./hub/download.js";
export * from "./hub/resolve.js";
export * from "./manifest.js";
export * from "./prompt/index.js";
export * from "./runtime/cobra.js";
export * from "./runtime/load-node.js";
export * from "./runtime/request.js";
