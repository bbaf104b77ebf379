import type * as Ort from "onnxruntime-common";
import { InvalidArgumentError, isModuleNotFound, MissingDependencyError } from "../errors.js";

export type OrtModule = typeof Ort;

/**
 * Execution backends. "cpu" is onnxruntime-node's CPU provider, "wasm" onnxruntime-web's (in Node too; threads
 * when a page is cross-origin isolated); "webgpu" is onnxruntime-node's WebGPU provider in Node and
 * onnxruntime-web/webgpu's in browsers.
 */
export type Backend = "cpu" | "wasm" | "webgpu";

export const BACKENDS: readonly Backend[] = ["cpu", "wasm", "webgpu"];

/** Which runtime a part runs on: a backend, and optionally the onnxruntime module to use for it. */
export interface RuntimeChoice {
  backend?: Backend;
  /**
   * An onnxruntime module to use instead of the one the backend names: an app that configured that module's
   * `env` itself (wasm paths, threads, proxy) hands it over here.
   */
  ort?: OrtModule;
}

const isNode = typeof process !== "undefined" && !!process.versions?.node;

/** The backend a part gets when none is chosen: cpu in Node, wasm in browsers. */
export function defaultBackend(): Backend {
  return isNode ? "cpu" : "wasm";
}

/** `value` as a Backend, or an InvalidArgumentError naming the valid ones (`what` names the option). */
export function checkBackend(value: unknown, what = "backend"): Backend {
  if (typeof value === "string" && (BACKENDS as readonly string[]).includes(value)) return value as Backend;
  throw new InvalidArgumentError(
    `${what}: unknown backend ${JSON.stringify(value)}; use ${BACKENDS.map((b) => `"${b}"`).join(", ")}`,
  );
}

type ModuleName = "onnxruntime-node" | "onnxruntime-web" | "onnxruntime-web/webgpu";

/** The package a backend runs on here. */
export function ortModuleName(backend: Backend): ModuleName {
  checkBackend(backend);
  if (isNode) return backend === "wasm" ? "onnxruntime-web" : "onnxruntime-node";
  if (backend === "cpu")
    throw new InvalidArgumentError(
      'the cpu backend is onnxruntime-node, which only runs in Node: use "wasm" or "webgpu" in a browser',
    );
  return backend === "webgpu" ? "onnxruntime-web/webgpu" : "onnxruntime-web";
}

/**
 * onnxruntime-node (1.30, Linux) starts a telemetry client with its first session, and that client runs
 * `std::regex_search("(.*)[ ]*.*[\n]*")` over /proc/self/cmdline. libstdc++ matches it recursively, about 290 bytes
 * of stack per byte of command line, so a process started with ~28,000 characters of arguments dies with SIGSEGV
 * on the 8 MB main stack. A bigger stack only moves the limit (16 MB: ~57,000) and argv can hold megabytes; with
 * ORT_DISABLE_TELEMETRY set the client never starts. Off unless the caller chose a value; read once, when the first session is created.
 */
function disableNodeTelemetry(): void {
  if (!process.env.ORT_DISABLE_TELEMETRY) process.env.ORT_DISABLE_TELEMETRY = "1";
}

const IMPORTS: Record<ModuleName, () => Promise<unknown>> = {
  // A computed specifier: bundlers for the browser leave the native binding alone.
  "onnxruntime-node": () => {
    const name = "onnxruntime-node";
    return import(/* @vite-ignore */ name);
  },
  // Literal specifiers: browser bundlers must see these (in Node, onnxruntime-web's own Node build loads).
  "onnxruntime-web": () => import("onnxruntime-web"),
  "onnxruntime-web/webgpu": () => import("onnxruntime-web/webgpu"),
};

const NEEDED_FOR: Record<ModuleName, string> = {
  "onnxruntime-node": "running ONNX models in Node on the cpu or webgpu backend",
  "onnxruntime-web": "the wasm backend",
  "onnxruntime-web/webgpu": "the webgpu backend in a browser",
};

/** Imported once per package name; a failed import is forgotten (installing it later in the process works). */
const modules = new Map<ModuleName, Promise<OrtModule>>();

/** The onnxruntime module a part on `choice.backend` runs on: `choice.ort` when given, else the backend's. */
export async function ortFor(choice: RuntimeChoice = {}): Promise<OrtModule> {
  if (choice.ort) return choice.ort;
  const name = ortModuleName(choice.backend ?? defaultBackend());
  let loaded = modules.get(name);
  if (!loaded) {
    if (name === "onnxruntime-node") disableNodeTelemetry();
    loaded = IMPORTS[name]().then(
      (m) => m as OrtModule,
      (e: unknown) => {
        modules.delete(name);
        const pkg = name.split("/")[0];
        if (isModuleNotFound(e, pkg) || isModuleNotFound(e, name))
          throw new MissingDependencyError(pkg, NEEDED_FOR[name], { cause: e });
        throw e;
      },
    );
    modules.set(name, loaded);
  }
  return loaded;
}
