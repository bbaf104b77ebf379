/** Serves the built app (with the converted tiny model under /models/) on 127.0.0.1 for the browser tests. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { preview } from "vite";
import type { TestProject } from "vitest/node";
import { APP_DIR, DIST_DIR, MODELS_DIR } from "./paths";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  if (!existsSync(resolve(MODELS_DIR, "cobra-tiny/cobra.json")))
    throw new Error("the tiny model is not converted: run `npm run dev:model -w @cobra-ts/playground`");
  // PLAYGROUND_URL runs the test against a server you started (e.g. `npm run dev`).
  const external = process.env.PLAYGROUND_URL;
  if (external) {
    project.provide("baseUrl", new URL("/", external).href);
    return;
  }
  if (!existsSync(resolve(DIST_DIR, "index.html")))
    throw new Error(`${DIST_DIR} has no build: run \`npm run e2e\` (it builds first) or \`npm run build\``);
  const server = await preview({
    root: APP_DIR,
    configFile: resolve(APP_DIR, "vite.config.ts"),
    logLevel: "warn",
    preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === "string") throw new Error("the preview server has no port");
  project.provide("baseUrl", `http://127.0.0.1:${address.port}/`);
  return async () => {
    await server.close();
  };
}
