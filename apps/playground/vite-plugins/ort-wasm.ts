/**
 * Serves onnxruntime-web's WASM binaries and their .mjs loaders under /ort/ (dev) and copies them into the
 * build (dist/ort/); the model worker passes that folder to Cobra as `wasmPaths`. They stay separate files
 * rather than bundled assets so that ort can pick the variant it needs at run time. The build copies only the
 * variants the bundled ort code names (each ort build loads one), not all four (31 MB more, never fetched).
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "vite";
import { serveFolder } from "./static-files.ts";

const ORT_FILE = /^ort-wasm-.*\.(wasm|mjs)$/;
/** How ort's JS names a loader it imports from wasmPaths; its .wasm has the same stem. */
const ORT_LOADER = /ort-wasm-simd-threaded(?:\.[a-z]+)?\.mjs/g;

/** onnxruntime-web's dist folder, as resolved from this app (the same copy its imports get). */
export function ortDistFolder(): string {
  return dirname(createRequire(import.meta.url).resolve("onnxruntime-web"));
}

/** The loaders and binaries that the given JS sources name, or every one when they name none. */
export function ortFilesUsedBy(sources: Iterable<string>, available: string[]): string[] {
  const stems = new Set<string>();
  for (const source of sources)
    for (const [loader] of source.matchAll(ORT_LOADER)) stems.add(loader.slice(0, -".mjs".length));
  if (stems.size === 0) return available; // ort changed how it names them: ship all rather than break
  return available.filter((name) => stems.has(name.replace(/\.(wasm|mjs)$/, "")));
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
    generateBundle(_options, bundle) {
      // Only for the page build, not again for each worker bundle (which reach this one as finished assets).
      if (this.environment?.name && this.environment.name !== "client") return;
      const sources = Object.values(bundle).map((file) =>
        file.type === "chunk" ? file.code : typeof file.source === "string" ? file.source : "",
      );
      const available = readdirSync(folder).filter((n) => ORT_FILE.test(n));
      for (const name of ortFilesUsedBy(sources, available))
        this.emitFile({ type: "asset", fileName: `ort/${name}`, source: readFileSync(join(folder, name)) });
    },
  };
}
