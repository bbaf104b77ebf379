import { createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
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
  await mkdir(dirname(local), { recursive: true });
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
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
  body.on("data", (chunk: Buffer) => {
    loaded += chunk.length;
    options.onProgress?.({ file: `${repo}/${path}`, loaded, total });
  });
  const out = createWriteStream(part, { flags: resumed ? "a" : "w" });
  try {
    await pipeline(body, out, { signal: options.signal });
  } catch (e) {
    // The .part file must be settled before anyone (a retry) measures it to resume.
    if (!out.closed) await new Promise<void>((settled) => out.once("close", () => settled()));
    if (options.signal?.aborted) throwIfAborted(options.signal);
    throw new DownloadError(`download of ${url} was interrupted at ${loaded} bytes; run again to resume`, {
      cause: e,
    });
  }
  if (total !== null && loaded !== total)
    throw new DownloadError(`download of ${url} ended at ${loaded} of ${total} bytes; run again to resume`);
  await rename(part, local);
  return local;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
