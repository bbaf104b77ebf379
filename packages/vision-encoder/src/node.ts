/** Node entry: everything in index.ts plus file/bytes decoding with sharp. */

export { decodeImageBytes, decodeImageFile } from "./decode-node.js";
export * from "./index.js";
export * from "./vit/node.js";
