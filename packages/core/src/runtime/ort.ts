import type * as Ort from "onnxruntime-common";
import { BackendUnavailableError, InvalidArgumentError } from "../errors.js";
import {
  type Backend,
  checkBackend,
  defaultBackend,
  type OrtModule,
  ortFor,
  type RuntimeChoice,
} from "./ort-modules.js";

export * from "./ort-modules.js";

export type InferenceSession = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

export interface SessionOptions extends RuntimeChoice {
  /** Intra-op threads; onnxruntime's default (all cores) when absent. */
  threads?: number;
  /**
   * External data files, by the name the model references: their bytes, or (onnxruntime-web in Node) their
   * paths. Models given as bytes need them, and so do paths on onnxruntime-web, which never looks beside the
   * model itself (externalDataPaths in "@cobra-ts/core/node" lists them).
   */
  externalData?: { path: string; data: Uint8Array | string }[];
  /**
   * onnxruntime-node, a model given as bytes: the folder its external data files are in (it looks in the
   * working directory otherwise). onnxruntime-web takes `externalData` instead.
   */
  externalDataFolder?: string;
  /** Free dimension overrides let onnxruntime plan memory for fixed sizes (e.g. batch 1). */
  freeDimensionOverrides?: Record<string, number>;
  /** onnxruntime's log level for this session (0 verbose .. 4 fatal); its default (2, warnings) when absent. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * onnxruntime's CPU memory arena (default on). Off, each run's activations go back to the system when the run
   * ends instead of staying reserved for the next run: what a graph run once per request on large activations
   * wants (RUN_ONCE_SESSION). Applies on the cpu backend only: a WebAssembly heap never shrinks, so freeing
   * gains nothing there.
   */
  memoryArena?: boolean;
  /**
   * onnxruntime's memory patterns (default on): the first run of each input shape plans one block for all its
   * activations and later runs of that shape take it whole from the arena. Off, a graph run at many shapes
   * (the LM's prefills, one shape per prompt length) stops growing the arena with each new shape's block
   * (LM_SESSION). Applies on the cpu backend only, where it was measured.
   */
  memoryPattern?: boolean;
}

/**
 * Options for graphs that run once per image on large activations (the vision towers, the projector): without
 * the arena their ~0.3 GB of activations (Cobra-3.5B's towers at 729 patches) is freed after each encode rather
 * than held for the rest of the process, at no cost in encode time (measured in BENCHMARKS.md). The LM keeps
 * its arena: it runs every step, and without it prefill is ~3x slower.
 */
export const RUN_ONCE_SESSION: Pick<SessionOptions, "memoryArena"> = { memoryArena: false };

/**
 * Options for the LM's graph: no memory patterns. With them, Cobra-3.5B's q4 LM grew from 2.10 to 2.35-2.40 GB
 * of RSS over 30 prefills of different lengths, and stayed at 2.10-2.24 GB without, at the same speed
 * (measured in BENCHMARKS.md).
 */
export const LM_SESSION: Pick<SessionOptions, "memoryPattern"> = { memoryPattern: false };

/** A session with the runtime and backend it runs on: a part makes its input tensors with that `ort`. */
export interface OpenedSession {
  session: InferenceSession;
  ort: OrtModule;
  backend: Backend;
}

/** Opens a model path (Node) or bytes on the backend and onnxruntime module `options` choose. */
export async function openSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
): Promise<OpenedSession> {
  const backend = checkBackend(options.backend ?? defaultBackend());
  const ort = await ortFor({ backend, ort: options.ort });
  const sessionOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: [backend],
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.externalData ? { externalData: options.externalData } : {}),
    ...(options.freeDimensionOverrides ? { freeDimensionOverrides: options.freeDimensionOverrides } : {}),
    ...(options.logSeverityLevel !== undefined ? { logSeverityLevel: options.logSeverityLevel } : {}),
    ...(options.memoryArena === false && backend === "cpu" ? { enableCpuMemArena: false } : {}),
    ...(options.memoryPattern === false && backend === "cpu" ? { enableMemPattern: false } : {}),
    ...(options.externalDataFolder
      ? { extra: { session: { model_external_initializers_file_folder_path: options.externalDataFolder } } }
      : {}),
  };
  try {
    const session =
      typeof model === "string"
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    return { session, ort, backend };
  } catch (e) {
    throw explainBackendFailure(e, backend, typeof model === "string" ? model : undefined) ?? e;
  }
}

/** Creates an inference session from a model path (Node) or bytes. */
export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
): Promise<InferenceSession> {
  return (await openSession(model, options)).session;
}

/**
 * Turns two onnxruntime failures into what to do: a webgpu provider without a GPU (a C++ assertion with a
 * source path), and onnxruntime-web given a model path without its external data files (it has no file system
 * to look in). Returns undefined for every other failure (a bad model must keep its own message).
 */
export function explainBackendFailure(
  error: unknown,
  backend: Backend,
  modelPath?: string,
): BackendUnavailableError | InvalidArgumentError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const reason = /Failed to get a WebGPU adapter: ?([^\n]*)/.exec(message);
  if (backend === "webgpu" && reason)
    return new BackendUnavailableError(
      `the webgpu backend found no GPU adapter here (${reason[1].trim() || "none"}): use the cpu backend, ` +
        "which works everywhere in Node (wasm in a browser); webgpu needs a GPU with a Vulkan, Metal or D3D12 driver",
      { cause: error },
    );
  const missing = /Failed to load external data file "?"([^"]*)"/.exec(message);
  if (modelPath && missing)
    return new InvalidArgumentError(
      `${modelPath}: onnxruntime-web cannot find the external data file "${missing[1]}" by itself; pass ` +
        "externalData (externalDataPaths from @cobra-ts/core/node lists them for a model path)",
      { cause: error },
    );
  return undefined;
}

/** Wraps a Float32Array as a tensor of the onnxruntime module `ort` (the session's own) without copying. */
export function floatTensor(ort: OrtModule, data: Float32Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor("float32", data, dims);
}
