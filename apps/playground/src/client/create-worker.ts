/** Starts a model worker. Vite bundles the worker from this URL pattern (module workers: ort uses imports). */
import { CobraWorkerClient } from "@cobra-ts/cobra/worker";

export function createModelClient(): CobraWorkerClient {
  const worker = new Worker(new URL("../worker/model.worker.ts", import.meta.url), {
    type: "module",
    name: "cobra-model",
  });
  return new CobraWorkerClient(worker);
}
