/**
 * A model folder at a URL, kept in the browser's Cache API: each file listed in cobra.json is read from a named
 * Cache when it holds that file at the listed sha256, else fetched once, streamed to the caller and stored in
 * the Cache, so the next visit downloads nothing. cobra.json itself is always fetched fresh: it says which
 * bytes are current, so a re-converted model is downloaded again while an unchanged one never is.
 */
import type { ModelFileReader } from "@cobra-ts/core";
import { MANIFEST_FILE, manifestFiles, parseManifest } from "../manifest.js";
import { type CachingFetch, createCachingFetch } from "../worker/caching-fetch.js";
import type { ManifestFile } from "../worker/loaded-cobra.js";
import { type CacheLike, cacheKey, MODEL_CACHE_NAME, pruneModelCache } from "../worker/model-cache.js";
import { type ReaderOptions, urlReader } from "./file-readers.js";

export interface CacheReaderOptions extends ReaderOptions {
  /**
   * Where files are kept: an open Cache, the name of one (`caches.open`), or null to download without keeping
   * anything. Default: the "cobra-models-v1" Cache where the Cache API exists (https or localhost), else null.
   */
  cache?: CacheLike | string | null;
  /** A cache write failed (e.g. storage is full); the download itself goes on, uncached. */
  onCacheError?: (file: ManifestFile, error: unknown) => void;
}

export interface CacheReader extends ModelFileReader {
  /**
   * Waits for the cache writes started so far, then drops this folder's cached files that the current
   * cobra.json no longer lists (an older conversion's). Call it once the model is loaded.
   */
  settled(): Promise<void>;
}

async function openCache(cache: CacheReaderOptions["cache"]): Promise<CacheLike | null> {
  if (cache === null) return null;
  if (typeof cache === "object") return cache;
  if (typeof caches === "undefined") return null;
  return caches.open(cache ?? MODEL_CACHE_NAME);
}

/** A reader of the model folder at `base` (a URL) that keeps its files in the Cache API. */
export function cacheReader(base: string, options: CacheReaderOptions = {}): CacheReader {
  const folder = base.endsWith("/") ? base : `${base}/`;
  const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let prepared:
    | Promise<{ cachingFetch: CachingFetch; keep: Set<string>; cache: CacheLike | null }>
    | undefined;

  // On the first read: cobra.json, fresh from the network, names the files and the hashes they are kept under.
  const prepare = async () => {
    const manifestUrl = new URL(MANIFEST_FILE, folder).href;
    const response = await baseFetch(manifestUrl, { signal: options.signal, cache: "no-cache" });
    const text = response.ok ? await response.text() : null;
    // No manifest: nothing to key files by; the plain reads report what is wrong with the folder.
    const files: ManifestFile[] =
      text === null ? [] : manifestFiles(parseManifest(text, manifestUrl, folder));
    const byUrl = new Map(files.map((f) => [new URL(f.path, folder).href, f]));
    const cache = text === null ? null : await openCache(options.cache);
    const cachingFetch = createCachingFetch({
      cache,
      files: byUrl,
      preloaded: text === null ? undefined : new Map([[manifestUrl, text]]),
      fetch: baseFetch,
      signal: options.signal,
      onCacheError: options.onCacheError,
    });
    const keep = new Set([...byUrl].map(([url, f]) => cacheKey(url, f.sha256)));
    return { cachingFetch, keep, cache };
  };
  const ready = () => {
    prepared ??= prepare();
    return prepared;
  };

  const reader = urlReader(folder, {
    ...options,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) =>
      (await ready()).cachingFetch.fetch(input, init)) as typeof fetch,
  });
  return {
    ...reader,
    async settled() {
      if (!prepared) return;
      const { cachingFetch, keep, cache } = await prepared;
      await cachingFetch.settled();
      if (cache) await pruneModelCache(cache, folder, keep);
    },
  };
}
