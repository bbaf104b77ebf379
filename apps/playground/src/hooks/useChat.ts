/**
 * The chat about one image: the image is encoded (and its prefix prefilled) once, as soon as a model and an
 * image are both there; every question then streams an answer that reuses that prefix.
 */

import {
  type AnswerStats,
  type CobraWorkerClient,
  describeError,
  isAbortError,
} from "@cobra-ts/cobra/worker";
import { useCallback, useEffect, useRef, useState } from "react";

export type ExchangeState = "waiting" | "streaming" | "done" | "stopped" | "failed";

export interface Exchange {
  id: number;
  question: string;
  /** The streamed text so far (deltas concatenated). */
  answer: string;
  state: ExchangeState;
  stats: AnswerStats | null;
  error: string | null;
  /** Said when older turns were dropped so that this question fits the model's prompt limit. */
  notice: string | null;
}

export type ImagePhase = "none" | "encoding" | "ready" | "stopped" | "failed";

/** The last time a new image or model cleared a conversation, so the page can say so. */
export interface ChatCleared {
  reason: "image" | "model";
  turns: number;
}

export interface ChatControls {
  exchanges: Exchange[];
  imagePhase: ImagePhase;
  imageMs: number | null;
  imageError: string | null;
  cleared: ChatCleared | null;
  /** Turns the model keeps in its context (the session's history). */
  contextTurns: number;
  busy: boolean;
  ask(question: string, maxNewTokens: number): Promise<void>;
  stop(): void;
}

/** One image encoding; `failed` (or stopped) ones are redone before the next question. */
type Look = { client: CobraWorkerClient; image: Blob; id: number; failed: boolean; done: Promise<void> };

export function useChat(client: CobraWorkerClient | null, image: Blob | null): ChatControls {
  const [exchanges, setExchanges] = useState<Exchange[]>([]);
  const [imagePhase, setImagePhase] = useState<ImagePhase>("none");
  const [imageMs, setImageMs] = useState<number | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);
  const [contextTurns, setContextTurns] = useState(0);
  const [cleared, setCleared] = useState<ChatCleared | null>(null);
  /** The conversation's length and image as they were before a change, for saying what the change cleared. */
  const turns = useRef(0);
  const previousImage = useRef(image);
  const look = useRef<Look | null>(null);
  const running = useRef<{ client: CobraWorkerClient; id: number } | null>(null);
  const nextExchange = useRef(1);

  const startLook = useCallback((c: CobraWorkerClient, img: Blob): Look => {
    const pending = c.look(img);
    running.current = { client: c, id: pending.id };
    setImagePhase("encoding");
    setImageError(null);
    const entry: Look = { client: c, image: img, id: pending.id, failed: false, done: Promise.resolve() };
    // Only the newest encoding may change what the page shows (an older one can finish late).
    const isCurrent = () => look.current === entry;
    entry.done = pending.done.then(
      (ms) => {
        if (!isCurrent()) return;
        setImageMs(ms);
        setImagePhase("ready");
      },
      (error: unknown) => {
        entry.failed = true;
        if (isCurrent()) {
          setImagePhase(isAbortError(error) ? "stopped" : "failed");
          setImageError(describeError(error).message);
        }
        throw error;
      },
    );
    entry.done.catch(() => {}); // shown through the phase; a question waiting on it gets the error itself
    look.current = entry;
    return entry;
  }, []);

  useEffect(() => {
    turns.current = exchanges.length;
  }, [exchanges]);

  // A new model or a new image starts a new conversation; the page says when that dropped turns.
  useEffect(() => {
    if (turns.current > 0)
      setCleared({ reason: previousImage.current !== image ? "image" : "model", turns: turns.current });
    previousImage.current = image;
    turns.current = 0;
    setExchanges([]);
    setContextTurns(0);
    setImageMs(null);
    look.current = null;
    if (!client || !image) {
      setImagePhase("none");
      return;
    }
    const started = startLook(client, image);
    return () => {
      // Replaced (another image, another model): stop encoding the old image and answering about it, or the
      // worker would finish that answer before it encodes the new image.
      client.abort(started.id);
      if (running.current?.client === client) client.abort(running.current.id);
    };
  }, [client, image, startLook]);

  const ask = useCallback(
    async (question: string, maxNewTokens: number) => {
      if (!client || !image) return;
      const id = nextExchange.current++;
      setExchanges((list) => [
        ...list,
        { id, question, answer: "", state: "waiting", stats: null, error: null, notice: null },
      ]);
      try {
        let current = look.current;
        if (!current || current.client !== client || current.image !== image || current.failed)
          current = startLook(client, image);
        await current.done;
        const pending = client.ask(
          question,
          maxNewTokens,
          (delta) =>
            update(setExchanges, id, (e) => ({ ...e, answer: e.answer + delta, state: "streaming" })),
          (notice) => update(setExchanges, id, (e) => ({ ...e, notice })),
        );
        running.current = { client, id: pending.id };
        const answer = await pending.done;
        update(setExchanges, id, (e) => ({
          ...e,
          state: answer.aborted ? "stopped" : "done",
          stats: answer.stats,
        }));
        setContextTurns(answer.history.length);
      } catch (error) {
        const stopped = isAbortError(error);
        update(setExchanges, id, (e) => ({
          ...e,
          state: stopped ? "stopped" : "failed",
          error: describeError(error).message,
        }));
      } finally {
        running.current = null;
      }
    },
    [client, image, startLook],
  );

  const stop = useCallback(() => {
    const r = running.current;
    if (r) r.client.abort(r.id);
  }, []);

  const busy = exchanges.some((e) => e.state === "waiting" || e.state === "streaming");
  return { exchanges, imagePhase, imageMs, imageError, cleared, contextTurns, busy, ask, stop };
}

function update(
  setExchanges: (change: (list: Exchange[]) => Exchange[]) => void,
  id: number,
  change: (e: Exchange) => Exchange,
): void {
  setExchanges((list) => list.map((e) => (e.id === id ? change(e) : e)));
}
