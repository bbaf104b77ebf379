/** Starts a model worker. Vite bundles the worker from this URL pattern (module workers: ort uses imports). */
import { ModelClient } from "./model-client";

export function createModelClient(): ModelClient {
  const worker = new Worker(new URL("../worker/model.worker.ts", import.meta.url), {
    type: "module",
    name: "cobra-model",
  });
  return new ModelClient(worker);
}
