import type * as Ort from "onnxruntime-common";
import {
  BackendUnavailableError,
  InvalidArgumentError,
  isModuleNotFound,
  MissingDependencyError,
} from "../errors.js";

export type OrtModule = typeof Ort;
export type InferenceSession = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

/**
 * Execution backends. "cpu" is onnxruntime-node's CPU provider, "wasm" onnxruntime-web's (threads when the
 * page is cross-origin isolated); "webgpu" is either runtime's WebGPU provider where it has one.
 */
export type Backend = "cpu" | "wasm" | "webgpu";

let ortModule: Promise<OrtModule> | null = null;

const isNode = typeof process !== "undefined" && !!process.versions?.node;

/**
 * Sets the onnxruntime module every session is created with. Browser entry points call this with
 * onnxruntime-web; in Node the default is onnxruntime-node, imported on first use (never at load time, so a
 * package that only builds graphs does not need the native binding).
 */
export function useOrt(module: OrtModule | Promise<OrtModule>): void {
  ortModule = Promise.resolve(module);
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

export function getOrt(): Promise<OrtModule> {
  if (!ortModule) {
    if (!isNode)
      throw new InvalidArgumentError(
        "no onnxruntime configured: call useOrt(await import('onnxruntime-web')) first",
      );
    disableNodeTelemetry();
    // A computed specifier: bundlers for the browser leave it alone.
    const name = "onnxruntime-node";
    ortModule = (import(/* @vite-ignore */ name) as Promise<OrtModule>).catch((e) => {
      ortModule = null; // installing it later in the same process works
      if (isModuleNotFound(e, name))
        throw new MissingDependencyError(name, "running ONNX models in Node (the cpu backend)", { cause: e });
      throw e;
    });
  }
  return ortModule;
}

export interface SessionOptions {
  backend?: Backend;
  /** Intra-op threads; onnxruntime's default (all cores) when absent. */
  threads?: number;
  /** For models given as bytes: their external data files, by the name the model references. */
  externalData?: { path: string; data: Uint8Array | string }[];
  /** Free dimension overrides let onnxruntime plan memory for fixed sizes (e.g. batch 1). */
  freeDimensionOverrides?: Record<string, number>;
  /** onnxruntime's log level for this session (0 verbose .. 4 fatal); its default (2, warnings) when absent. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

function executionProviders(backend: Backend): string[] {
  switch (backend) {
    case "cpu":
      return ["cpu"];
    case "wasm":
      return ["wasm"];
    case "webgpu":
      return ["webgpu"];
    default:
      throw new InvalidArgumentError(`unknown backend "${backend as string}"; use "cpu", "wasm" or "webgpu"`);
  }
}

/** Creates an inference session from a model path (Node) or bytes. */
export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
): Promise<InferenceSession> {
  const ort = await getOrt();
  const backend = options.backend ?? (isNode ? "cpu" : "wasm");
  const sessionOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: executionProviders(backend),
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.externalData ? { externalData: options.externalData } : {}),
    ...(options.freeDimensionOverrides ? { freeDimensionOverrides: options.freeDimensionOverrides } : {}),
    ...(options.logSeverityLevel !== undefined ? { logSeverityLevel: options.logSeverityLevel } : {}),
  };
  try {
    return typeof model === "string"
      ? await ort.InferenceSession.create(model, sessionOptions)
      : await ort.InferenceSession.create(model, sessionOptions);
  } catch (e) {
    throw explainBackendFailure(e, backend) ?? e;
  }
}

/**
 * onnxruntime reports a webgpu provider without a GPU as a C++ assertion with a source path; this says what
 * works instead. Returns undefined for every other failure (a bad model must keep its own message).
 */
export function explainBackendFailure(error: unknown, backend: Backend): BackendUnavailableError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const reason = /Failed to get a WebGPU adapter: ?([^\n]*)/.exec(message);
  if (backend !== "webgpu" || !reason) return undefined;
  return new BackendUnavailableError(
    `the webgpu backend found no GPU adapter here (${reason[1].trim() || "none"}): use the cpu backend, ` +
      "which works everywhere in Node (wasm in a browser); webgpu needs a GPU with a Vulkan, Metal or D3D12 driver",
    { cause: error },
  );
}

/** Wraps a Float32Array as an onnxruntime tensor without copying. */
export async function floatTensor(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
  const ort = await getOrt();
  return new ort.Tensor("float32", data, dims);
}
