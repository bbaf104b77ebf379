/**
 * The Web Worker entry: Cobra's worker engine from @cobra-ts/cobra/worker, with onnxruntime-web's files served
 * from this app's ort/ folder. Inference runs here so that the page never freezes.
 */
import { serveCobraWorker } from "@cobra-ts/cobra/worker";

serveCobraWorker({ wasmPaths: new URL(`${import.meta.env.BASE_URL}ort/`, self.location.href).href });
