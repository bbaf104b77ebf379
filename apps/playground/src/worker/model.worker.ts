/**
 * The Web Worker entry: binds the real Cobra browser API to the model layer and the message protocol.
 * Inference runs here so that the page never freezes.
 */
import { Cobra } from "@cobra-ts/cobra/browser";
import type { LoadCobra } from "./cobra-api";
import { ModelHost } from "./model";
import type { WorkerEvent, WorkerRequest } from "./protocol";

/** The dedicated-worker globals used here (the project compiles against the DOM library, not WebWorker). */
const scope = self as unknown as {
  postMessage(event: WorkerEvent): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  crossOriginIsolated: boolean;
  location: Location;
  navigator: Navigator;
};

// Assigning through the contract type makes the compiler check the real API against what the app expects.
const loadCobra: LoadCobra = (source, options) => Cobra.load(source, options);

const host = new ModelHost({
  loadCobra,
  emit: (event) => scope.postMessage(event),
  wasmPaths: new URL(`${import.meta.env.BASE_URL}ort/`, scope.location.href).href,
  crossOriginIsolated: scope.crossOriginIsolated,
  logicalCores: scope.navigator.hardwareConcurrency ?? 1,
  pageUrl: scope.location.href,
});

scope.onmessage = (event) => void host.handle(event.data);
