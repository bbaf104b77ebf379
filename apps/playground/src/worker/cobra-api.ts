/**
 * The part of `@cobra-ts/cobra/browser` the playground relies on, written down as types so that the model layer
 * can be unit-tested with a fake. `entry.ts` assigns the real `Cobra.load` to `LoadCobra`, so the compiler checks
 * that the real module still satisfies this contract.
 */

export type Backend = "wasm" | "webgpu";

export interface LoadProgress {
  /** Path relative to the model folder. */
  file: string;
  loaded: number;
  total: number | null;
}

export interface CobraLoadOptions {
  backend: Backend;
  onProgress?: (progress: LoadProgress) => void;
  /** Used for every file when the source is a base URL (the playground passes its caching fetch). */
  fetch?: typeof fetch;
  /** Where onnxruntime-web's .wasm/.mjs files are served. */
  wasmPaths?: string;
  signal?: AbortSignal;
}

/** A base URL of a converted model folder, or its files keyed by path relative to the folder. */
export type CobraSource = string | Map<string, Blob>;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ChatTurn {
  role: "user" | "assistant";
  text: string;
}

export interface AnswerChunk {
  /** Text delta. */
  text: string;
  token: number;
}

export interface AskOptions {
  maxNewTokens?: number;
  signal?: AbortSignal;
}

/** One image, encoded and prefilled once, serving any number of questions. */
export interface CobraChat {
  /** Streams the answer; the history gains the turn once the answer is complete. */
  askStream(question: string, options?: AskOptions): AsyncIterable<AnswerChunk>;
  readonly history: readonly ChatTurn[];
}

export interface LoadedCobra {
  readonly backend: string;
  readonly manifest: { modelId?: string; parts: Partial<Record<string, { files: ManifestFile[] }>> } | null;
  look(image: Blob, options?: { signal?: AbortSignal }): Promise<CobraChat>;
}

export type LoadCobra = (source: CobraSource, options: CobraLoadOptions) => Promise<LoadedCobra>;
