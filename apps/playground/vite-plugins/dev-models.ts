/**
 * Serves converted models from apps/playground/.models/ under /models/ on the dev and preview servers, so
 * `npm run dev:model` output loads from /models/cobra-tiny/. Never part of the build: weights are not shipped.
 */
import { existsSync } from "node:fs";
import type { Plugin } from "vite";
import { serveFolder } from "./static-files.ts";

export function devModels(folder: string): Plugin {
  // Browsers must revalidate: a re-converted model changes behind the same URL.
  const handler = serveFolder(() => (existsSync(folder) ? folder : null), { "Cache-Control": "no-cache" });
  return {
    name: "cobra:dev-models",
    configureServer(server) {
      server.middlewares.use("/models", handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use("/models", handler);
    },
  };
}
