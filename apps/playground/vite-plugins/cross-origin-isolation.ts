/**
 * COOP/COEP make the page cross-origin isolated, which onnxruntime-web needs for WASM threads
 * (SharedArrayBuffer). A middleware rather than `server.headers`/`preview.headers`: those skip responses of
 * other plugins' middlewares (the /models/ and /ort/ files), and every response should carry the same policy.
 */
import type { Plugin } from "vite";
import type { Middleware } from "./static-files.ts";

export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

const setIsolationHeaders: Middleware = (_req, res, next) => {
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
  next();
};

export function crossOriginIsolation(): Plugin {
  return {
    name: "cobra:cross-origin-isolation",
    // Registered before Vite's own middlewares and the other plugins' (this plugin comes first in the list).
    configureServer: (server) => void server.middlewares.use(setIsolationHeaders),
    configurePreviewServer: (server) => void server.middlewares.use(setIsolationHeaders),
  };
}
