/** Browser entry: everything in index.ts plus decoding of Blob/File/ImageBitmap/ImageData/<img>/<canvas>. */

export { type BrowserImageSource, decodeImageBrowser } from "./decode-browser.js";
export * from "./index.js";
