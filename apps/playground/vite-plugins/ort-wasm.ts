/**
 * Serves onnxruntime-web's WASM binaries and their .mjs loaders under /ort/ (dev) and copies them into the
 * build (dist/ort/); the model worker passes that folder to Cobra as `wasmPaths`. They stay separate files
 * rather than bundled assets so that ort can pick the variant it needs at run time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "vite";
import { serveFolder } from "./static-files.ts";

const ORT_FILE = /^ort-wasm-.*\.(wasm|mjs)$/;

/** onnxruntime-web's dist folder, as resolved from this app (the same copy its imports get). */
export function ortDistFolder(): string {
  return dirname(createRequire(import.meta.url).resolve("onnxruntime-web"));
}

export function ortWasmFiles(): Plugin {
  const folder = ortDistFolder();
  return {
    name: "cobra:ort-wasm-files",
    configureServer(server) {
      server.middlewares.use(
        "/ort",
        serveFolder(() => folder),
      );
    },
    generateBundle() {
      // Only for the page build, not again for each worker bundle.
      if (this.environment?.name && this.environment.name !== "client") return;
      for (const name of readdirSync(folder).filter((n) => ORT_FILE.test(n)))
        this.emitFile({ type: "asset", fileName: `ort/${name}`, source: readFileSync(join(folder, name)) });
    },
  };
}
