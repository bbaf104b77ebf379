/**
 * Serves the app on 127.0.0.1 for the browser tests, twice: the production build (`vite preview`) and the
 * sources (`vite` dev server, what `npm run dev` runs), both with the converted tiny model under /models/.
 */
import { existsSync } from "node:fs";
import type { Server } from "node:net";
import { resolve } from "node:path";
import { createServer, preview } from "vite";
import type { TestProject } from "vitest/node";
import { APP_DIR, DIST_DIR, MODELS_DIR, QUANTIZED_MODEL } from "./paths";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    devUrl: string;
  }
}

export default async function setup(project: TestProject) {
  for (const model of ["cobra-tiny", QUANTIZED_MODEL])
    if (!existsSync(resolve(MODELS_DIR, model, "cobra.json")))
      throw new Error(`${model} is not converted: run \`npm run dev:model -w @cobra-ts/playground\``);
  const dev = await createServer({
    root: APP_DIR,
    configFile: resolve(APP_DIR, "vite.config.ts"),
    logLevel: "warn",
    server: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
  });
  await dev.listen();
  project.provide("devUrl", urlOf(dev.httpServer, "the dev server"));
  // PLAYGROUND_URL runs the preview-build test against a server you started (e.g. `npm run preview`).
  const external = process.env.PLAYGROUND_URL;
  if (external) {
    project.provide("baseUrl", new URL("/", external).href);
    return () => dev.close();
  }
  if (!existsSync(resolve(DIST_DIR, "index.html")))
    throw new Error(`${DIST_DIR} has no build: run \`npm run e2e\` (it builds first) or \`npm run build\``);
  const server = await preview({
    root: APP_DIR,
    configFile: resolve(APP_DIR, "vite.config.ts"),
    logLevel: "warn",
    preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
  });
  project.provide("baseUrl", urlOf(server.httpServer, "the preview server"));
  return async () => {
    await Promise.all([server.close(), dev.close()]);
  };
}

function urlOf(server: Server | null, what: string): string {
  const address = server?.address();
  if (!address || typeof address === "string") throw new Error(`${what} has no port`);
  return `http://127.0.0.1:${address.port}/`;
}
