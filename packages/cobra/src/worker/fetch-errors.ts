/**
 * A network failure rejects `fetch` with a bare "Failed to fetch" (Chromium) or "NetworkError…" (Firefox) that
 * names no URL. Model loads fetch several files, so the page must say which one failed and what to check.
 */
import { describeError, isAbortError } from "./errors.js";

export function fetchFailureMessage(url: string, reason: string): string {
  return (
    `Could not fetch ${url} (${reason}). Check that the URL is right and its server is running; a server on ` +
    "another origin must allow this page with CORS (Access-Control-Allow-Origin)."
  );
}

/** Wraps `fetch` so that a failure to get any response names the URL; stops (AbortError) pass unchanged. */
export function explainFetchFailures(baseFetch: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await baseFetch(input, init);
    } catch (error) {
      if (isAbortError(error) || init?.signal?.aborted) throw error;
      const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
      throw new Error(fetchFailureMessage(url, describeError(error).message), { cause: error });
    }
  };
}
