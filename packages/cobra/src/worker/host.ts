/**
 * The worker engine: runs inside a Web Worker and turns protocol requests into Cobra calls (load with per-file
 * progress and the browser cache, look, streamed answers, abort, release). Cobra itself is injected
 * (`loadCobra`), so the host is unit-tested with a fake; `serveCobraWorker` binds the real one.
 */
import { InvalidArgumentError, ModelFormatError, throwIfAborted } from "@cobra-ts/core";
import {
  type CobraManifest,
  MANIFEST_FILE,
  manifestFiles,
  parseManifest,
  recordedDtypes,
} from "../manifest.js";
import { createCachingFetch } from "./caching-fetch.js";
import { describeError, isAbortError, isQuotaError } from "./errors.js";
import { explainFetchFailures } from "./fetch-errors.js";
import type { CobraChat, CobraLoadOptions, LoadCobra, LoadedCobra, ManifestFile } from "./loaded-cobra.js";
import { type CacheLike, cacheKey, openModelCache, pruneModelCache } from "./model-cache.js";
import { modelBaseUrl } from "./model-url.js";
import { throttleProgress } from "./progress.js";
import type { LoadedInfo, WorkerEvent, WorkerRequest } from "./protocol.js";
import { AnswerTimer } from "./stats.js";
import { estimateStorage, quotaMessage, type StorageEstimateLike, storageShortage } from "./storage.js";
import { createEventLoopYield } from "./yield.js";

export interface CobraWorkerHostOptions {
  loadCobra: LoadCobra;
  emit: (event: WorkerEvent) => void;
  /** Where onnxruntime-web's .wasm/.mjs files are served (onnxruntime-web's default when absent). */
  wasmPaths?: string;
  /** WASM threads per onnxruntime-web module (onnxruntime's default when absent). */
  threads?: number;
  crossOriginIsolated: boolean;
  logicalCores: number;
  fetch?: typeof fetch;
  openCache?: () => Promise<CacheLike | null>;
  estimateStorage?: () => Promise<StorageEstimateLike | null>;
  now?: () => number;
  progressIntervalMs?: number;
  /** Resolves relative model URLs (the worker's own location). */
  pageUrl?: string;
  /** Returns to the event loop between tokens, so that a stop request is seen (see yield.ts). */
  yieldToEventLoop?: () => Promise<void>;
}

type Loaded = { cobra: LoadedCobra; cached: boolean };
/** What the page chose for the parts; the same for either kind of source. */
type PartSettings = Pick<CobraLoadOptions, "backend" | "scan">;

export class CobraWorkerHost {
  #cobra: LoadedCobra | null = null;
  #chat: CobraChat | null = null;
  readonly #running = new Map<number, AbortController>();
  #queue: Promise<void> = Promise.resolve();
  readonly #yield: () => Promise<void>;
  /** Every model download goes through this, so that a network failure names its URL. */
  readonly #fetch: typeof fetch;

  constructor(private readonly options: CobraWorkerHostOptions) {
    this.#yield = options.yieldToEventLoop ?? createEventLoopYield();
    this.#fetch = explainFetchFailures(options.fetch ?? ((input, init) => fetch(input, init)));
  }

  /** Requests run one after another (a question waits for its image); `abort` acts at once. */
  handle(request: WorkerRequest): Promise<void> {
    if (request.type === "abort") {
      this.#running.get(request.target)?.abort();
      return Promise.resolve();
    }
    const controller = new AbortController();
    this.#running.set(request.id, controller);
    this.#queue = this.#queue.then(() => this.#run(request, controller.signal));
    return this.#queue;
  }

  /** Failures become a `failed` event, never an unhandled rejection. */
  async #run(request: Exclude<WorkerRequest, { type: "abort" }>, signal: AbortSignal): Promise<void> {
    try {
      throwIfAborted(signal);
      if (request.type === "load") await this.#load(request, signal);
      else if (request.type === "look") await this.#look(request.id, request.image, signal);
      else if (request.type === "ask")
        await this.#ask(request.id, request.question, request.maxNewTokens, signal);
      else await this.#release(request.id);
    } catch (error) {
      this.options.emit({ type: "failed", id: request.id, error: describeError(error) });
    } finally {
      this.#running.delete(request.id);
    }
  }

  async #load(
    { id, source, backend, scan }: Extract<WorkerRequest, { type: "load" }>,
    signal: AbortSignal,
  ): Promise<void> {
    // A new model replaces the old one and its chat, even when loading fails.
    await this.#releaseModel();
    const progress = throttleProgress(
      (p) => this.options.emit({ type: "progress", id, ...p }),
      this.options.progressIntervalMs ?? 100,
      this.options.now,
    );
    const { cobra, cached } =
      source.kind === "url"
        ? await this.#loadFromUrl(id, source.url, { backend, scan }, signal, progress)
        : await this.#loadFromFiles(source.files, { backend, scan }, signal, progress);
    throwIfAborted(signal);
    this.#cobra = cobra;
    const files = cobra.manifest ? manifestFiles(cobra.manifest) : [];
    this.options.emit({
      type: "loaded",
      id,
      backend: cobra.backend,
      modelId: cobra.manifest?.modelId ?? "",
      fileCount: files.length,
      totalBytes: files.reduce((sum, f) => sum + f.size, 0),
      crossOriginIsolated: this.options.crossOriginIsolated,
      logicalCores: this.options.logicalCores,
      from: source.kind === "url" ? "url" : "folder",
      cached,
      dtypes: loadedDtypes(cobra.manifest),
    });
  }

  async #loadFromFiles(
    files: { path: string; blob: Blob }[],
    settings: PartSettings,
    signal: AbortSignal,
    progress: ReturnType<typeof throttleProgress>,
  ): Promise<Loaded> {
    // Bars for the files the manifest lists (a picked folder may hold others that are never read).
    const manifestBlob = files.find((f) => f.path === MANIFEST_FILE)?.blob;
    if (manifestBlob)
      for (const f of manifestFiles(parseManifest(await manifestBlob.text(), MANIFEST_FILE)))
        progress({ file: f.path, loaded: 0, total: f.size, fromCache: false });
    const cobra = await this.options.loadCobra(new Map(files.map((f) => [f.path, f.blob])), {
      ...settings,
      signal,
      wasmPaths: this.options.wasmPaths,
      threads: this.options.threads,
      // cobra.json was read above and is shown for neither kind of source.
      onProgress: (p) => p.file !== MANIFEST_FILE && progress({ ...p, fromCache: false }),
    });
    return { cobra, cached: false };
  }

  async #loadFromUrl(
    id: number,
    url: string,
    settings: PartSettings,
    signal: AbortSignal,
    progress: ReturnType<typeof throttleProgress>,
  ): Promise<Loaded> {
    const notice = (message: string) => this.options.emit({ type: "notice", id, message });
    const base = modelBaseUrl(url, this.options.pageUrl);
    const manifestUrl = new URL(MANIFEST_FILE, base).href;
    const manifestText = await this.#fetchText(manifestUrl, signal);
    const byUrl = new Map<string, ManifestFile>(
      manifestFiles(parseManifest(manifestText, manifestUrl, base)).map((f) => [
        new URL(f.path, base).href,
        f,
      ]),
    );

    let cache = await (this.options.openCache ?? openModelCache)();
    if (!cache) {
      notice(
        "This page cannot keep models in the browser (the Cache API needs https or localhost): every visit downloads the model again.",
      );
    } else {
      const missing = await uncachedBytes(cache, byUrl);
      const shortage = storageShortage(missing, await (this.options.estimateStorage ?? estimateStorage)());
      if (shortage) {
        notice(shortage);
        cache = null;
      }
    }

    for (const f of byUrl.values()) progress({ file: f.path, loaded: 0, total: f.size, fromCache: false });
    let cached = cache !== null;
    const cachingFetch = createCachingFetch({
      cache,
      files: byUrl,
      preloaded: new Map([[manifestUrl, manifestText]]),
      fetch: this.#fetch,
      signal,
      onProgress: progress,
      onCacheError: (file, error) => {
        cached = false;
        notice(
          isQuotaError(error)
            ? quotaMessage(file.path)
            : `Could not keep ${file.path} in the browser cache: ${describeError(error).message}`,
        );
      },
    });

    try {
      const cobra = await this.options.loadCobra(base, {
        ...settings,
        fetch: cachingFetch.fetch,
        signal,
        wasmPaths: this.options.wasmPaths,
        threads: this.options.threads,
      });
      // Report storage trouble with this load, not after it: wait for the last cache writes.
      await cachingFetch.settled();
      if (cache) {
        const current = new Set([...byUrl].map(([fileUrl, f]) => cacheKey(fileUrl, f.sha256)));
        await pruneModelCache(cache, base, current);
      }
      return { cobra, cached };
    } catch (error) {
      // A damaged cached copy must not break the next attempt too: forget this model's cached files.
      if (cache && !isAbortError(error)) await pruneModelCache(cache, base, new Set());
      throw error;
    }
  }

  async #fetchText(url: string, signal: AbortSignal): Promise<string> {
    const response = await this.#fetch(url, { signal, cache: "no-cache" });
    if (!response.ok)
      throw new ModelFormatError(
        `${url} answered HTTP ${response.status}: is the URL the folder written by \`cobra convert\`?`,
      );
    return response.text();
  }

  async #look(id: number, image: Blob, signal: AbortSignal): Promise<void> {
    const cobra = this.#cobra;
    if (!cobra) throw new InvalidArgumentError("Load a model before adding an image.");
    this.#chat = null;
    const start = this.#now();
    const chat = await cobra.look(image, { signal });
    throwIfAborted(signal);
    this.#chat = chat;
    this.options.emit({ type: "looked", id, ms: this.#now() - start });
  }

  async #ask(id: number, question: string, maxNewTokens: number, signal: AbortSignal): Promise<void> {
    const chat = this.#chat;
    if (!chat) throw new InvalidArgumentError("Add an image before asking a question.");
    const timer = new AnswerTimer(this.options.now);
    // A long chat outgrows the model's prompt limit: the oldest turns make way (the question alone must fit).
    const droppedTurns = chat.dropOldestTurnsToFit(question);
    if (droppedTurns > 0)
      this.options.emit({
        type: "notice",
        id,
        message: `The conversation outgrew the model's prompt limit: its oldest ${droppedTurns === 1 ? "question and answer were" : `${droppedTurns} questions and answers were`} dropped.`,
      });
    try {
      for await (const chunk of chat.askStream(question, { maxNewTokens, signal })) {
        timer.token();
        this.options.emit({ type: "token", id, text: chunk.text, token: chunk.token });
        await this.#yield();
        if (signal.aborted) break;
      }
    } catch (error) {
      if (!isAbortError(error) && !signal.aborted) throw error;
    }
    this.options.emit({
      type: "answered",
      id,
      stats: timer.stats(),
      aborted: signal.aborted,
      history: [...chat.history],
      droppedTurns,
    });
  }

  async #release(id: number): Promise<void> {
    await this.#releaseModel();
    this.options.emit({ type: "released", id });
  }

  async #releaseModel(): Promise<void> {
    const cobra = this.#cobra;
    this.#cobra = null;
    this.#chat = null;
    await cobra?.release();
  }

  #now(): number {
    return (this.options.now ?? (() => performance.now()))();
  }
}

/**
 * Each part's dtype as `cobra bench` reads it; fp32 where the manifest records none. The part loaders refuse a
 * weighted part without a dtype, so that only happens for a Cobra put together without a manifest.
 */
function loadedDtypes(manifest: CobraManifest | null): LoadedInfo["dtypes"] {
  const recorded = recordedDtypes(manifest ?? { parts: {} });
  return {
    vision: recorded.vision ?? "fp32",
    projector: recorded.projector ?? "fp32",
    lm: recorded.lm ?? "fp32",
  };
}

async function uncachedBytes(cache: CacheLike, files: ReadonlyMap<string, ManifestFile>): Promise<number> {
  let bytes = 0;
  for (const [url, f] of files) if (!(await cache.match(cacheKey(url, f.sha256)))) bytes += f.size;
  return bytes;
}
