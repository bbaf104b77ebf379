/**
 * The page's handle on the model worker: typed requests, their streamed events, and a promise for each
 * request's outcome. The page talks to the model only through this class.
 */
import type {
  AnswerStats,
  Backend,
  ChatTurn,
  FileProgress,
  LoadedInfo,
  ModelSourceMessage,
  TerminalEvent,
  WorkerEvent,
  WorkerRequest,
} from "../worker/protocol";
import { isTerminal } from "../worker/protocol";

/** What the client needs from a Worker (a fake stands in for it in tests). */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  terminate(): void;
}

/** An error raised inside the worker, keeping its name (e.g. ModelFormatError, AbortError). */
export class ModelWorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A request in flight: its id (to stop it) and its outcome. */
export interface Pending<T> {
  id: number;
  done: Promise<T>;
}

export interface Answer {
  stats: AnswerStats;
  aborted: boolean;
  history: ChatTurn[];
}

type Listener = {
  onEvent: (event: WorkerEvent) => void;
  settle: (event: TerminalEvent) => void;
  fail: (error: Error) => void;
};

export class ModelClient {
  #nextId = 1;
  readonly #listeners = new Map<number, Listener>();
  #broken: Error | null = null;

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener("message", (event) => this.#dispatch(event.data));
    // A worker that cannot start (a failed import, a syntax error) reports here and nowhere else.
    worker.addEventListener("error", (event) => {
      event.preventDefault?.();
      this.#failAll(
        new ModelWorkerError(
          "WorkerError",
          `The model worker stopped: ${event.message || "see the browser console"}`,
        ),
      );
    });
  }

  load(
    source: ModelSourceMessage,
    backend: Backend,
    on: { progress?: (p: FileProgress) => void; notice?: (message: string) => void } = {},
  ): Pending<LoadedInfo> {
    return this.#request(
      { type: "load", source, backend },
      (event) => {
        if (event.type === "progress") on.progress?.(event);
        else if (event.type === "notice") on.notice?.(event.message);
      },
      (event) => {
        if (event.type !== "loaded") throw unexpected(event);
        const { type: _type, id: _id, ...info } = event;
        return info;
      },
    );
  }

  /** Encodes the image and prefills it once; later questions reuse it. Resolves with the time taken. */
  look(image: Blob): Pending<number> {
    return this.#request(
      { type: "look", image },
      () => {},
      (event) => {
        if (event.type !== "looked") throw unexpected(event);
        return event.ms;
      },
    );
  }

  ask(question: string, maxNewTokens: number, onText: (delta: string) => void): Pending<Answer> {
    return this.#request(
      { type: "ask", question, maxNewTokens },
      (event) => {
        if (event.type === "token") onText(event.text);
      },
      (event) => {
        if (event.type !== "answered") throw unexpected(event);
        return { stats: event.stats, aborted: event.aborted, history: event.history };
      },
    );
  }

  /** Stops a request; it still settles (an answer with `aborted`, or a failure named AbortError). */
  abort(id: number): void {
    if (this.#listeners.has(id)) this.worker.postMessage({ type: "abort", id: this.#nextId++, target: id });
  }

  dispose(): void {
    this.worker.terminate();
    this.#failAll(new ModelWorkerError("AbortError", "The model worker was closed."));
  }

  #request<T>(
    body: DistributiveOmit<Exclude<WorkerRequest, { type: "abort" }>, "id">,
    onEvent: (event: WorkerEvent) => void,
    result: (event: TerminalEvent) => T,
  ): Pending<T> {
    const id = this.#nextId++;
    const done = new Promise<T>((resolve, reject) => {
      if (this.#broken) return reject(this.#broken);
      this.#listeners.set(id, {
        onEvent,
        settle: (event) => {
          if (event.type === "failed") reject(new ModelWorkerError(event.error.name, event.error.message));
          else {
            try {
              resolve(result(event));
            } catch (error) {
              reject(error);
            }
          }
        },
        fail: reject,
      });
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
    return { id, done };
  }

  #dispatch(event: WorkerEvent): void {
    const listener = this.#listeners.get(event.id);
    if (!listener) return;
    if (isTerminal(event)) {
      this.#listeners.delete(event.id);
      listener.settle(event);
    } else listener.onEvent(event);
  }

  #failAll(error: Error): void {
    this.#broken = error;
    for (const listener of this.#listeners.values()) listener.fail(error);
    this.#listeners.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function unexpected(event: TerminalEvent): Error {
  return new ModelWorkerError("ProtocolError", `unexpected "${event.type}" event from the model worker`);
}
