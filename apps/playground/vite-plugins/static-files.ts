/** A minimal static file handler for Vite's connect servers (dev and preview), confined to one folder. */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".mjs": "text/javascript",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
};

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Serves files under `folder` for requests below the mount point (connect strips the prefix from req.url).
 * Anything else under the mount point is a plain 404, never the app's index.html fallback: a missing model
 * file must fail as missing.
 */
export function serveFolder(folder: () => string | null, headers: Record<string, string> = {}): Middleware {
  return (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    const root = folder();
    const path = root && resolve(root, `.${decodeURIComponent((req.url ?? "/").split("?")[0])}`);
    const size = path && (path === root || path.startsWith(root + sep)) ? fileSize(path) : null;
    if (!path || size === null) {
      res.statusCode = 404;
      res.setHeader("Content-Type", "text/plain");
      return void res.end(
        root ? "Not found\n" : "Nothing to serve here yet (see apps/playground/README.md)\n",
      );
    }
    res.setHeader("Content-Type", CONTENT_TYPES[extname(path)] ?? "application/octet-stream");
    res.setHeader("Content-Length", String(size));
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (req.method === "HEAD") return void res.end();
    createReadStream(path).pipe(res);
  };
}

function fileSize(path: string): number | null {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : null;
  } catch {
    return null;
  }
}
