export * from "./hub/download.js";
export * from "./hub/resolve.js";
export * from "./manifest.js";
