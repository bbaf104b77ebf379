/**
 * Messages between the page and the model worker. Every request carries an id; the worker answers with any
 * number of events for that id and then exactly one terminal event (`loaded`, `looked`, `answered`,
 * `released` or `failed`).
 * Types only: the page imports this file, never the model.
 */
import type { PartDtype, ScanForm } from "@cobra-ts/core";
import type { PartName } from "../convert/part-dtypes.js";
import type { Backend, ChatTurn } from "./loaded-cobra.js";

export type { Backend, ChatTurn };

export type ModelSourceMessage =
  | { kind: "url"; url: string }
  | { kind: "files"; files: { path: string; blob: Blob }[] };

export type WorkerRequest =
  /** `scan` overrides where the LM's selective scans run ("graph" or "kernel"; the manifest's choice if absent). */
  | { type: "load"; id: number; source: ModelSourceMessage; backend: Backend; scan?: ScanForm }
  | { type: "look"; id: number; image: Blob }
  | { type: "ask"; id: number; question: string; maxNewTokens: number }
  /** Releases the loaded model's sessions (and its chat); the worker stays up for the next load. */
  | { type: "release"; id: number }
  /** Stops the request `target` (a download, an image encoding or an answer); answers nothing itself. */
  | { type: "abort"; id: number; target: number };

export interface FileProgress {
  /** Path relative to the model folder. */
  file: string;
  loaded: number;
  total: number | null;
  /** Served from the browser's model cache rather than the network. */
  fromCache: boolean;
}

export interface AnswerStats {
  tokens: number;
  /** From sending the question to the first streamed token. */
  ttftMs: number | null;
  /** Decode rate after the first token; null with fewer than two tokens. */
  tokensPerSecond: number | null;
  totalMs: number;
}

export interface LoadedInfo {
  backend: string;
  modelId: string;
  fileCount: number;
  totalBytes: number;
  /** The worker's own view: WASM threads need it. */
  crossOriginIsolated: boolean;
  /** navigator.hardwareConcurrency in the worker (onnxruntime-web's default thread count follows it). */
  logicalCores: number;
  /** Where the files came from. */
  from: "url" | "folder";
  /** Whether the files are kept in the browser's cache for the next visit (URLs only). */
  cached: boolean;
  /** The precision each part's weights are stored at, as cobra.json records it (fp32 where it records none). */
  dtypes: Record<PartName, PartDtype>;
}

export type WorkerEvent =
  | ({ type: "progress"; id: number } & FileProgress)
  | ({ type: "loaded"; id: number } & LoadedInfo)
  | { type: "looked"; id: number; ms: number }
  | { type: "token"; id: number; text: string; token: number }
  | { type: "notice"; id: number; message: string }
  | {
      type: "answered";
      id: number;
      stats: AnswerStats;
      aborted: boolean;
      history: ChatTurn[];
      /** Oldest question/answer pairs dropped so that the prompt fits the model's limit. */
      droppedTurns: number;
    }
  | { type: "released"; id: number }
  | { type: "failed"; id: number; error: { name: string; message: string } };

export type TerminalEvent = Extract<
  WorkerEvent,
  { type: "loaded" | "looked" | "answered" | "released" | "failed" }
>;

export function isTerminal(event: WorkerEvent): event is TerminalEvent {
  return (
    event.type === "loaded" ||
    event.type === "looked" ||
    event.type === "answered" ||
    event.type === "released" ||
    event.type === "failed"
  );
}
