/**
 * File readers for model folders outside Node's file system: a base URL (fetch, with byte progress) and files
 * the user picked (Blobs by path). Each reads a file once and keeps its bytes for the load, so checking sizes
 * and hashes before any graph opens costs no second download.
 */
import { FileNotFoundError, type FileProgress, type ModelFileReader, ModelFormatError } from "@cobra-ts/core";

export interface ReaderOptions {
  /** Used for every file of a URL source (e.g. one that keeps files in the Cache API). */
  fetch?: typeof fetch;
  onProgress?: (p: FileProgress) => void;
  signal?: AbortSignal;
}

/** sha256 of bytes, hex, with the platform's Web Crypto (browsers, workers, Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Memoizes a reader's `bytes` and derives `size` and `sha256` from them; absent files read as null. */
function bytesReader(where: string, read: (path: string) => Promise<Uint8Array | null>): ModelFileReader {
  const cache = new Map<string, Promise<Uint8Array | null>>();
  const get = (path: string) => {
    let entry = cache.get(path);
    if (!entry) {
      entry = read(path);
      cache.set(path, entry);
    }
    return entry;
  };
  const bytes = async (path: string) => {
    const b = await get(path);
    if (!b) throw new FileNotFoundError(`${where}${where.endsWith("/") ? "" : "/"}${path}`, "model file");
    return b;
  };
  return {
    where,
    size: async (path) => (await get(path))?.length ?? null,
    bytes,
    async sha256(path, onBytes) {
      const b = await bytes(path);
      const hex = await sha256Hex(b);
      onBytes?.(b.length);
      return hex;
    },
  };
}

/** Files the user picked, by path relative to the model folder. */
export function blobReader(files: ReadonlyMap<string, Blob>, options: ReaderOptions = {}): ModelFileReader {
  const reader = bytesReader("the picked folder", async (path) => {
    const blob = files.get(path);
    if (!blob) return null;
    const bytes = new Uint8Array(await blob.arrayBuffer());
    options.onProgress?.({ file: path, loaded: bytes.length, total: bytes.length });
    return bytes;
  });
  // A Blob knows its size: a wrong one is caught without reading the file.
  return { ...reader, size: async (path) => files.get(path)?.size ?? null };
}

/** A model folder served at `base` (a URL; relative paths resolve inside it). */
export function urlReader(base: string, options: ReaderOptions = {}): ModelFileReader {
  const folder = base.endsWith("/") ? base : `${base}/`;
  return bytesReader(folder, async (path) => {
    const url = new URL(path, folder).toString();
    const res = await (options.fetch ?? fetch)(url, { signal: options.signal });
    if (res.status === 404) return null;
    if (!res.ok || !res.body) throw new ModelFormatError(`cannot fetch ${url}: HTTP ${res.status}`);
    const total = Number(res.headers.get("content-length")) || null;
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const body = res.body.getReader();
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      options.onProgress?.({ file: path, loaded, total });
    }
    const out = new Uint8Array(loaded);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  });
}
