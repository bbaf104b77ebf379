/** Loading a model into a fresh worker, with per-file progress, storage notices and a stop button. */

import {
  type Backend,
  type CobraWorkerClient,
  describeError,
  type FileProgress,
  isAbortError,
  type LoadedInfo,
  type ModelSourceMessage,
} from "@cobra-ts/cobra/worker";
import { useCallback, useRef, useState } from "react";
import { createModelClient } from "../client/create-worker";

export type ModelPhase = "idle" | "loading" | "ready" | "failed" | "stopped";

export interface ModelState {
  phase: ModelPhase;
  files: FileProgress[];
  notices: string[];
  info: LoadedInfo | null;
  error: string | null;
}

const IDLE: ModelState = { phase: "idle", files: [], notices: [], info: null, error: null };

export interface ModelControls {
  state: ModelState;
  /** The client of the loaded model; null until a model is ready. */
  client: CobraWorkerClient | null;
  load(source: ModelSourceMessage, backend: Backend): Promise<void>;
  stop(): void;
}

export function useModel(): ModelControls {
  const [state, setState] = useState<ModelState>(IDLE);
  const [client, setClient] = useState<CobraWorkerClient | null>(null);
  const current = useRef<{ client: CobraWorkerClient; requestId: number } | null>(null);

  const load = useCallback(async (source: ModelSourceMessage, backend: Backend) => {
    // A fresh worker per model: the only way to hand the previous model's WASM memory back to the browser.
    current.current?.client.dispose();
    setClient(null);
    const next = createModelClient();
    setState({ ...IDLE, phase: "loading" });
    const pending = next.load(source, backend, {
      progress: (p) => setState((s) => ({ ...s, files: upsertFile(s.files, p) })),
      notice: (message) => setState((s) => ({ ...s, notices: [...s.notices, message] })),
    });
    current.current = { client: next, requestId: pending.id };
    try {
      const info = await pending.done;
      if (current.current?.client !== next) return;
      setState((s) => ({ ...s, phase: "ready", info }));
      setClient(next);
    } catch (error) {
      if (current.current?.client !== next) return;
      const stopped = isAbortError(error);
      setState((s) => ({ ...s, phase: stopped ? "stopped" : "failed", error: describeError(error).message }));
    }
  }, []);

  const stop = useCallback(() => {
    const loading = current.current;
    if (loading) loading.client.abort(loading.requestId);
  }, []);

  return { state, client, load, stop };
}

/** Replaces a file's progress in place (keeping the order files first appeared in). */
function upsertFile(files: FileProgress[], progress: FileProgress): FileProgress[] {
  const index = files.findIndex((f) => f.file === progress.file);
  if (index < 0) return [...files, progress];
  const next = files.slice();
  next[index] = progress;
  return next;
}
