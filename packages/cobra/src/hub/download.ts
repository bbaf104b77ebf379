import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { CobraError, throwIfAborted } from "@cobra-ts/core";

/** The hub endpoint; HF_ENDPOINT overrides it exactly as huggingface_hub reads it. */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}

export function defaultCacheDir(): string {
  const home = process.env.HOME ?? process.env.USERPROFILE ?? ".";
  return process.env.COBRA_CACHE ?? join(home, ".cache", "cobra-ts", "hub");
}

export class DownloadError extends CobraError {
  override name = "DownloadError";
}

export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

export interface DownloadOptions {
  cacheDir?: string;
  revision?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

/**
 * Downloads `repo/path` into the cache and returns its local path. A finished file is reused as is; an
 * interrupted one resumes from its `.part` file with an HTTP Range request.
 */
export async function downloadFile(
  repo: string,
  path: string,
  options: DownloadOptions = {},
): Promise<string> {
  const revision = options.revision ?? "main";
  const local = join(options.cacheDir ?? defaultCacheDir(), repo, revision, path);
  if (await exists(local)) return local;
  const part = `${local}.part`;
  const have = (await stat(part).catch(() => null))?.size ?? 0;
  const url = `${hubEndpoint()}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split("/").map(encodeURIComponent).join("/")}`;
  throwIfAborted(options.signal);
  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throwIfAborted(options.signal);
    throw new DownloadError(`cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404) throw new DownloadError(`${repo} has no file ${path} (404 at ${url})`);
  if (!res.ok || !res.body) throw new DownloadError(`download of ${url} failed: HTTP ${res.status}`);
  // A server that ignores Range answers 200 with the whole file: start over.
  const resumed = res.status === 206;
  const start = resumed ? have : 0;
  const length = Number(res.headers.get("content-length"));
  const total = Number.isFinite(length) && length > 0 ? start + length : null;
  let loaded = start;
  // Folders are made only once the hub answers with the file: an offline run leaves no empty tree behind.
  const created = await mkdir(dirname(local), { recursive: true });
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
  const out = createWriteStream(part, { flags: resumed ? "a" : "w" });
  let failure: unknown = null;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      loaded += chunk.length;
      options.onProgress?.({ file: `${repo}/${path}`, loaded, total });
      if (!out.write(chunk)) await once(out, "drain");
    }
  } catch (e) {
    failure = e;
  }
  // Ended, not destroyed: every byte that arrived reaches the .part (a rerun resumes after it), and the file is
  // settled before anyone measures it.
  out.end();
  await finished(out).catch((e) => {
    failure ??= e;
  });
  const kept = (await stat(part).catch(() => null))?.size ?? 0;
  const short = failure === null && total !== null && loaded !== total;
  if (failure !== null || short) {
    // A .part with bytes in it is kept to resume from; an empty one, and the folders made for it, are not.
    if (kept === 0) await rm(part, { force: true }).then(() => removeEmptyFolders(dirname(local), created));
    if (options.signal?.aborted) throwIfAborted(options.signal);
    const what = short ? `ended at ${loaded} of ${total} bytes` : `was interrupted at ${loaded} bytes`;
    throw new DownloadError(`download of ${url} ${what}; run again to resume`, {
      cause: failure ?? undefined,
    });
  }
  await rename(part, local);
  return local;
}

/** Removes `from` and its parents up to `top` (the first folder mkdir made), stopping at one that is not empty. */
async function removeEmptyFolders(from: string, top: string | undefined): Promise<void> {
  if (top === undefined) return;
  for (let dir = from; dir.startsWith(top); dir = dirname(dir)) {
    const removed = await rmdir(dir).then(
      () => true,
      () => false,
    );
    if (!removed || dir === top) return;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
