import { ModelFormatError } from "@cobra-ts/core";

export interface FileProgress {
  file: string;
  loaded: number;
  total: number | null;
}

/** Where a browser reads a converted model from: a base URL, or files the user picked (path -> Blob). */
export type ModelSource = string | ReadonlyMap<string, Blob>;

/** Reads one file of the model folder, reporting bytes as they arrive. */
export async function readModelFile(
  source: ModelSource,
  path: string,
  options: { fetch?: typeof fetch; onProgress?: (p: FileProgress) => void; signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  if (typeof source !== "string") {
    const blob = source.get(path);
    if (!blob) throw new ModelFormatError(`the picked folder has no ${path}`);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    options.onProgress?.({ file: path, loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  const url = new URL(path, source.endsWith("/") ? source : `${source}/`).toString();
  const res = await (options.fetch ?? fetch)(url, { signal: options.signal });
  if (!res.ok || !res.body) throw new ModelFormatError(`cannot fetch ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
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
}
