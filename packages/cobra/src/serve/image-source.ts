import { open, realpath } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { badRequest } from "./errors.js";

/** Where images may come from, and how much of one the server reads. */
export interface ImagePolicy {
  /** `file://` URLs are read only under this folder (absent: refused). */
  fileRoot?: string;
  /** `http(s)://` URLs are fetched only when true. */
  allowRemote: boolean;
  /** Largest encoded image, in bytes (data URLs are also bounded by the body limit). */
  maxBytes: number;
  /** Longest a remote fetch may take. */
  remoteTimeoutMs: number;
}

/**
 * The encoded bytes of an `image_url`: a base64 `data:` URL (see decodeBase64DataUrl), a `file://` URL
 * under the operator's folder, or an `http(s)` URL when remote images are allowed (size- and time-limited).
 * Every refusal is a 400 naming `param`.
 */
export async function readImageUrl(url: string, policy: ImagePolicy, param: string): Promise<Uint8Array> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "data") {
    if (!/^data:[^,]*;base64,/i.test(url))
      throw badRequest(
        "a data: image URL must be base64 (data:image/png;base64,...)",
        param,
        "invalid_image",
      );
    const bytes = decodeBase64DataUrl(url);
    if (!bytes)
      throw badRequest("the data: image URL's payload is not valid base64", param, "invalid_image_url");
    return bounded(bytes, policy, param);
  }
  if (scheme === "file") return readFileUrl(url, policy, param);
  if (scheme === "http" || scheme === "https") {
    if (!policy.allowRemote)
      throw badRequest(
        "remote images are off on this server (start it with --allow-remote-images); send the image as a data: URL",
        param,
        "invalid_image_url",
      );
    return fetchBytes(url, param, policy, AbortSignal.timeout(policy.remoteTimeoutMs));
  }
  throw badRequest("image_url must be a data:, file: or http(s): URL", param, "invalid_image_url");
}

const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g;
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;

/**
 * The bytes of a `data:...;base64,...` URL, or null when its payload is not base64, decoded as fetch() does
 * (the URL's fragment dropped, its percent-escapes decoded, then WHATWG forgiving-base64: ASCII whitespace
 * ignored, padding optional) but in native passes: undici's fetch of a data: URL takes 0.2-0.8 s of the main
 * thread for the 1.2 MB URL of a 640x480 PNG (this does ~1.5 ms), and while it runs `cobra serve`'s decode batch
 * stands still (every step runs on that thread).
 */
export function decodeBase64DataUrl(url: string): Uint8Array | null {
  const fragment = url.indexOf("#");
  let data = url.slice(url.indexOf(",") + 1, fragment < 0 ? undefined : fragment);
  if (data.includes("%"))
    data = data.replace(PERCENT_ESCAPE, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  data = data.replace(ASCII_WHITESPACE, "");
  if (data.length % 4 === 0 && data.endsWith("=")) data = data.slice(0, data.endsWith("==") ? -2 : -1);
  // Buffer.from skips characters outside base64 (and takes base64url's - and _): a payload of base64 characters
  // only is one that decodes to 3/4 of its length. (A regular expression over the payload is no faster than
  // fetch: V8 interprets it, ~70 ms for 1 MB.)
  if (data.length % 4 === 1 || data.includes("-") || data.includes("_") || data.includes("=")) return null;
  const bytes = Buffer.from(data, "base64");
  return bytes.byteLength === Math.floor((data.length * 3) / 4) ? bytes : null;
}

async function fetchBytes(
  url: string,
  param: string,
  policy: ImagePolicy,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: "follow" });
  } catch (e) {
    throw badRequest(`cannot fetch the image: ${(e as Error).message}`, param, "invalid_image_url");
  }
  if (!res.ok) throw badRequest(`cannot fetch the image: HTTP ${res.status}`, param, "invalid_image_url");
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > policy.maxBytes) {
    await res.body?.cancel();
    throw tooBig(declared, policy, param);
  }
  // Read it piece by piece so a server that lies about (or omits) its length cannot exceed the limit.
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  try {
    for (let next = await reader?.read(); next && !next.done; next = await reader?.read()) {
      const part = next.value;
      size += part.byteLength;
      if (size > policy.maxBytes) throw tooBig(size, policy, param);
      parts.push(part);
    }
  } catch (e) {
    await reader?.cancel().catch(() => {});
    if (e instanceof Error && e.name === "ApiError") throw e;
    throw badRequest(`cannot fetch the image: ${(e as Error).message}`, param, "invalid_image_url");
  }
  return Buffer.concat(parts);
}

async function readFileUrl(url: string, policy: ImagePolicy, param: string): Promise<Uint8Array> {
  if (!policy.fileRoot)
    throw badRequest(
      "file: image URLs are off on this server (start it with --image-root <dir>)",
      param,
      "invalid_image_url",
    );
  let path: string;
  let root: string;
  try {
    root = await realpath(policy.fileRoot);
    path = await realpath(fileURLToPath(url));
  } catch (e) {
    throw badRequest(`cannot read the image: ${(e as Error).message}`, param, "invalid_image_url");
  }
  const rel = relative(root, path);
  if (rel.startsWith("..") || isAbsolute(rel))
    throw badRequest("file: image URLs must be under the server's image root", param, "invalid_image_url");
  const file = await open(path).catch((e) => {
    throw badRequest(`cannot read the image: ${(e as Error).message}`, param, "invalid_image_url");
  });
  try {
    const { size, isFile } = await file.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) throw badRequest("the image path is not a file", param, "invalid_image_url");
    if (size > policy.maxBytes) throw tooBig(size, policy, param);
    return new Uint8Array(await file.readFile());
  } finally {
    await file.close();
  }
}

function bounded(bytes: Uint8Array, policy: ImagePolicy, param: string): Uint8Array {
  if (bytes.byteLength > policy.maxBytes) throw tooBig(bytes.byteLength, policy, param);
  return bytes;
}

function tooBig(size: number, policy: ImagePolicy, param: string) {
  return badRequest(
    `the image is ${size} bytes, over this server's limit of ${policy.maxBytes}`,
    param,
    "image_too_large",
  );
}
