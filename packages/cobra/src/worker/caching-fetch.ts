/**
 * A `fetch` for Cobra.load that keeps model files in the browser cache and reports per-file progress from the
 * response body as it streams. Files not listed in the manifest pass straight through.
 */
import { isAbortError, isQuotaError } from "./errors.js";
import type { ManifestFile } from "./loaded-cobra.js";
import { type CacheLike, cacheKey } from "./model-cache.js";
import type { FileProgress } from "./protocol.js";

/** `final` marks the last report for a file, so a throttled reporter never drops it. */
export type ProgressCallback = (progress: FileProgress, final: boolean) => void;

export interface CachingFetchOptions {
  /** Null: download without keeping anything (no Cache API, or not enough storage). */
  cache: CacheLike | null;
  /** The manifest's files, keyed by absolute URL. */
  files: ReadonlyMap<string, ManifestFile>;
  /** Bodies already in memory, keyed by absolute URL (the cobra.json read before loading). */
  preloaded?: ReadonlyMap<string, string>;
  fetch?: typeof fetch;
  /** Cancels every download made through this fetch. */
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** A cache write failed; the download itself goes on. After a QuotaExceededError nothing more is cached. */
  onCacheError?: (file: ManifestFile, error: unknown) => void;
}

export interface CachingFetch {
  fetch: typeof fetch;
  /** Resolves once every cache write started so far has finished or failed. */
  settled(): Promise<void>;
}

export function createCachingFetch(options: CachingFetchOptions): CachingFetch {
  const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let cache = options.cache;
  const writes: Promise<void>[] = [];

  const cachingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    const signal = anySignal(init?.signal ?? undefined, options.signal);
    const preloaded = options.preloaded?.get(url);
    if (preloaded !== undefined)
      return new Response(preloaded, { headers: { "content-type": "application/json" } });

    const file = options.files.get(url);
    if (!file) return baseFetch(input, { ...init, signal });

    const key = cacheKey(url, file.sha256);
    const hit = cache ? await cache.match(key) : undefined;
    if (hit?.body) return withProgress(hit, file, true, options.onProgress);

    const response = await baseFetch(url, { ...init, signal });
    if (!response.ok || !response.body) return response;
    if (!cache) return withProgress(response, file, false, options.onProgress);

    // One branch streams to the caller, the other into the cache: nothing is held whole in memory.
    const [toCache, toCaller] = response.body.tee();
    const write = cache
      .put(key, new Response(toCache.pipeThrough(expectLength(file)), { headers: cachedHeaders(file) }))
      .catch((error: unknown) => {
        if (isAbortError(error) || signal?.aborted) return;
        if (isQuotaError(error)) cache = null;
        options.onCacheError?.(file, error);
      });
    writes.push(write);
    const streamed = new Response(toCaller, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    return withProgress(streamed, file, false, options.onProgress);
  };
  return {
    fetch: cachingFetch as typeof fetch,
    settled: async () => {
      await Promise.all(writes);
    },
  };
}

function requestUrl(input: RequestInfo | URL): string {
  if (input instanceof URL) return input.href;
  if (typeof input === "string") return new URL(input, globalThis.location?.href).href;
  return input.url;
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

function cachedHeaders(file: ManifestFile): HeadersInit {
  return { "content-type": "application/octet-stream", "content-length": String(file.size) };
}

/** Fails the cache write of a truncated download, so a partial file is never kept. */
function expectLength(file: ManifestFile): TransformStream<Uint8Array, Uint8Array> {
  let length = 0;
  return new TransformStream({
    transform(chunk, controller) {
      length += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (length !== file.size)
        controller.error(new Error(`${file.path}: received ${length} bytes, cobra.json lists ${file.size}`));
    },
  });
}

/** Re-wraps a response so that reading its body reports bytes as they pass. */
function withProgress(
  response: Response,
  file: ManifestFile,
  fromCache: boolean,
  onProgress: ProgressCallback | undefined,
): Response {
  if (!onProgress || !response.body) return response;
  let loaded = 0;
  const report = (final: boolean) =>
    onProgress({ file: file.path, loaded, total: file.size, fromCache }, final);
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    start: () => report(false),
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      report(false);
      controller.enqueue(chunk);
    },
    flush: () => report(true),
  });
  return new Response(response.body.pipeThrough(counter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
