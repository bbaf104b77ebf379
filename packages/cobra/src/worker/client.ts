/**
 * The page's handle on a Cobra worker (one running `serveCobraWorker`): typed requests, their streamed events,
 * and a promise for each request's outcome. Errors thrown in the worker come back as the same core error
 * classes (`instanceof ModelFormatError` works on the page), keeping their names.
 */
import {
  AbortError,
  BackendUnavailableError,
  CobraError,
  ConfigError,
  checkScanForm,
  FileSystemError,
  ImageDecodeError,
  InvalidArgumentError,
  ModelFormatError,
  type ScanForm,
} from "@cobra-ts/core";
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
} from "./protocol.js";
import { isTerminal } from "./protocol.js";

/** What the client needs from a Worker (a fake stands in for it in tests). */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerEvent>) => void): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  terminate(): void;
}

/** The worker itself failed (it could not start, or it was closed): no request can be answered. */
export class CobraWorkerError extends CobraError {
  override name = "CobraWorkerError";
}

/** The core error class that stands for an error named `name` in the worker (its own class or its parent's). */
const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  ModelFormatError,
  UnknownPartKindError: ModelFormatError,
  FileNotFoundError: CobraError,
  WeightsFormatError: CobraError,
  ConfigError,
  InvalidArgumentError,
  ImageDecodeError,
  BackendUnavailableError,
  FileSystemError,
  MissingDependencyError: CobraError,
  CobraError,
  AbortError,
};

/** Rebuilds an error that crossed the worker boundary as `{ name, message }`. */
export function errorFromWorker(error: { name: string; message: string }): Error {
  const ErrorClass = ERROR_CLASSES[error.name] ?? Error;
  const rebuilt = new ErrorClass(error.message);
  rebuilt.name = error.name;
  return rebuilt;
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
  /** Oldest question/answer pairs dropped before this answer so that the prompt fits. */
  droppedTurns: number;
}

type Listener = {
  onEvent: (event: WorkerEvent) => void;
  settle: (event: TerminalEvent) => void;
  fail: (error: Error) => void;
};

export class CobraWorkerClient {
  #nextId = 1;
  readonly #listeners = new Map<number, Listener>();
  #broken: Error | null = null;

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener("message", (event) => this.#dispatch(event.data));
    // A worker that cannot start (a failed import, a syntax error) reports here and nowhere else.
    worker.addEventListener("error", (event) => {
      event.preventDefault?.();
      this.#failAll(
        new CobraWorkerError(`The model worker stopped: ${event.message || "see the browser console"}`),
      );
    });
  }

  load(
    source: ModelSourceMessage,
    backend: Backend,
    on: { progress?: (p: FileProgress) => void; notice?: (message: string) => void } = {},
    options: { scan?: ScanForm } = {},
  ): Pending<LoadedInfo> {
    checkScanForm(options.scan); // here, so a typo throws on the page rather than in the worker
    return this.#request(
      { type: "load", source, backend, scan: options.scan },
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

  /** Streams the answer's text deltas to `onText`; `onNotice` hears when old turns were dropped to fit. */
  ask(
    question: string,
    maxNewTokens: number,
    onText: (delta: string) => void,
    onNotice?: (message: string) => void,
  ): Pending<Answer> {
    return this.#request(
      { type: "ask", question, maxNewTokens },
      (event) => {
        if (event.type === "token") onText(event.text);
        else if (event.type === "notice") onNotice?.(event.message);
      },
      (event) => {
        if (event.type !== "answered") throw unexpected(event);
        const { stats, aborted, history, droppedTurns } = event;
        return { stats, aborted, history, droppedTurns };
      },
    );
  }

  /** Releases the loaded model (its sessions and memory in the worker); load another after it. */
  release(): Pending<void> {
    return this.#request(
      { type: "release" },
      () => {},
      (event) => {
        if (event.type !== "released") throw unexpected(event);
      },
    );
  }

  /** Stops a request; it still settles (an answer with `aborted`, or an AbortError). */
  abort(id: number): void {
    if (this.#listeners.has(id)) this.worker.postMessage({ type: "abort", id: this.#nextId++, target: id });
  }

  dispose(): void {
    this.worker.terminate();
    this.#failAll(new AbortError("The model worker was closed."));
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
          if (event.type === "failed") reject(errorFromWorker(event.error));
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
  return new CobraWorkerError(`unexpected "${event.type}" event from the model worker`);
}
