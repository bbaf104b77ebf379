// Runs the published worker entry (built dist) in a Node worker_threads Worker, as a page's Web Worker would:
// serveCobraWorker on the thread's parentPort, onnxruntime-web (wasm) in Node standing in for the browser's.
import { parentPort } from "node:worker_threads";
import { serveCobraWorker } from "@cobra-ts/cobra/worker";

serveCobraWorker({ endpoint: parentPort, threads: 1, openCache: async () => null });
