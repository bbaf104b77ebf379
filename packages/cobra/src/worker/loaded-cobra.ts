/**
 * What the worker host needs of a loaded Cobra, written down as types so that the host can be tested with a
 * fake: `serveCobraWorker` assigns the real browser `Cobra.load` to `LoadCobra`, so the compiler checks that the
 * real API satisfies this contract.
 */
import type { ModelFile, ScanForm } from "@cobra-ts/core";
import type { CobraManifest } from "../manifest.js";

/** The backends a browser runs. */
export type Backend = "wasm" | "webgpu";

export type ManifestFile = ModelFile;

export interface LoadProgress {
  /** Path relative to the model folder. */
  file: string;
  loaded: number;
  total: number | null;
}

export interface CobraLoadOptions {
  backend: Backend;
  /** Where the LM's selective scans run; the manifest's choice when absent. */
  scan?: ScanForm;
  onProgress?: (progress: LoadProgress) => void;
  /** Used for every file when the source is a base URL (the host passes its caching fetch). */
  fetch?: typeof fetch;
  /** Where onnxruntime-web's .wasm/.mjs files are served. */
  wasmPaths?: string;
  threads?: number;
  signal?: AbortSignal;
}

/** A base URL of a converted model folder, or its files keyed by path relative to the folder. */
export type CobraSource = string | Map<string, Blob>;

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

/** One image, encoded and prefilled once, serving any number of questions (Cobra's ImageSession). */
export interface CobraChat {
  /** Streams the answer; the history gains the turn once the answer is complete. */
  askStream(question: string, options?: AskOptions): AsyncIterable<AnswerChunk>;
  /** Drops the oldest question/answer pairs until the prompt for `question` fits; returns how many. */
  dropOldestTurnsToFit(question: string): number;
  readonly history: readonly ChatTurn[];
}

export interface LoadedCobra {
  readonly backend: string;
  readonly manifest: CobraManifest | null;
  look(image: Blob, options?: { signal?: AbortSignal }): Promise<CobraChat>;
  release(): Promise<void>;
}

export type LoadCobra = (source: CobraSource, options: CobraLoadOptions) => Promise<LoadedCobra>;
