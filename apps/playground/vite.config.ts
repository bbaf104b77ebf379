import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";
import { crossOriginIsolation } from "./vite-plugins/cross-origin-isolation.ts";
import { devModels } from "./vite-plugins/dev-models.ts";
import { ortWasmFiles } from "./vite-plugins/ort-wasm.ts";

export default defineConfig({
  plugins: [
    crossOriginIsolation(),
    react(),
    ortWasmFiles(),
    devModels(fileURLToPath(new URL("./.models", import.meta.url))),
  ],
  // Module workers: the model worker imports onnxruntime-web, which splits into chunks.
  worker: { format: "es" },
  // onnxruntime-web's default build names its .wasm with `new URL(…, import.meta.url)`, so Vite emitted every
  // binary a second time under assets/ (unused: ort loads from dist/ort/, see wasmPaths). This condition picks
  // its build that only imports the loader from wasmPaths at run time.
  resolve: { conditions: ["onnxruntime-web-use-extern-wasm", ...defaultClientConditions] },
  optimizeDeps: {
    // onnxruntime-web locates its .wasm/.mjs files itself; pre-bundling would move them.
    exclude: ["onnxruntime-web"],
    // Scan the model worker too, so the dev server pre-bundles what it imports at start-up rather than in
    // the middle of the first model load.
    entries: ["index.html", "src/worker/model.worker.ts"],
  },
  build: { target: "es2022", chunkSizeWarningLimit: 4096 },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
