/**
 * The browser cache (Cache API) that keeps downloaded model files across reloads. Entries are keyed by the
 * file's URL plus the sha256 the model's cobra.json lists for it, so a re-converted model is downloaded again
 * while an unchanged one never is.
 */

export const MODEL_CACHE_NAME = "cobra-models-v1";
const SHA_PARAM = "cobra-sha256";

/** The subset of the Cache API used here (a fake implements it in tests). */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
  keys(): Promise<readonly { url: string }[]>;
}

/** A query parameter, not a fragment: the Cache API ignores fragments when matching. */
export function cacheKey(url: string, sha256: string): string {
  const key = new URL(url);
  key.searchParams.set(SHA_PARAM, sha256);
  return key.href;
}

/** The file URL a cache key was made from. */
export function urlOfCacheKey(key: string): string {
  const url = new URL(key);
  url.searchParams.delete(SHA_PARAM);
  return url.href;
}

/** Null where the Cache API is missing (it needs a secure context: https or localhost). */
export async function openModelCache(): Promise<CacheLike | null> {
  if (typeof caches === "undefined") return null;
  return caches.open(MODEL_CACHE_NAME);
}

/** Removes every cached model file; true if there was anything to remove. */
export async function clearModelCache(): Promise<boolean> {
  if (typeof caches === "undefined") return false;
  return caches.delete(MODEL_CACHE_NAME);
}

/** Drops the cached files under `baseUrl` that `keep` (cache keys) no longer lists: an older conversion. */
export async function pruneModelCache(
  cache: CacheLike,
  baseUrl: string,
  keep: ReadonlySet<string>,
): Promise<number> {
  let removed = 0;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(baseUrl) && !keep.has(request.url) && (await cache.delete(request.url)))
      removed++;
  }
  return removed;
}
