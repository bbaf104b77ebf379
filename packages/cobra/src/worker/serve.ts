/**
 * Runs a Cobra worker host inside a Web Worker (or a Node worker_threads Worker: pass its parentPort): binds
 * the real browser `Cobra.load` to the host and the host to the message channel.
 */
import { Cobra } from "../browser.js";
import { CobraWorkerHost, type CobraWorkerHostOptions } from "./host.js";
import type { LoadCobra } from "./loaded-cobra.js";
import type { WorkerEvent, WorkerRequest } from "./protocol.js";

/** The side of a message channel the host listens on: a worker's global scope, or a MessagePort. */
export interface WorkerEndpoint {
  postMessage(event: WorkerEvent): void;
  addEventListener(type: "message", listener: (event: { data: WorkerRequest }) => void): void;
}

export interface ServeOptions extends Partial<Omit<CobraWorkerHostOptions, "emit">> {
  /** Where requests come from and events go; the worker's global scope by default. */
  endpoint?: WorkerEndpoint;
}

/** What a dedicated worker's global scope has (the project compiles against the DOM library, not WebWorker). */
interface WorkerScope extends WorkerEndpoint {
  crossOriginIsolated?: boolean;
  location?: { href: string };
  navigator?: { hardwareConcurrency?: number };
}

// Assigning through the contract type makes the compiler check the real API against what the host expects.
const loadCobra: LoadCobra = (source, options) => Cobra.load(source, options);

/** Starts answering requests from the page (a CobraWorkerClient); returns the host. */
export function serveCobraWorker(options: ServeOptions = {}): CobraWorkerHost {
  const scope = globalThis as unknown as WorkerScope;
  const endpoint = options.endpoint ?? scope;
  const host = new CobraWorkerHost({
    loadCobra,
    crossOriginIsolated: scope.crossOriginIsolated ?? false,
    logicalCores: scope.navigator?.hardwareConcurrency ?? 1,
    pageUrl: scope.location?.href,
    ...options,
    emit: (event) => endpoint.postMessage(event),
  });
  endpoint.addEventListener("message", (event) => void host.handle(event.data));
  return host;
}
