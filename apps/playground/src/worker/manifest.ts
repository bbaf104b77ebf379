/**
 * Just enough of cobra.json to plan downloads (which files, their sizes and hashes). Cobra.load validates the
 * whole manifest itself; this only has to fail clearly when a URL does not point at a converted model.
 */
import type { ManifestFile } from "./cobra-api";

export const MANIFEST_FILE = "cobra.json";

/** An absolute folder URL ending in "/", so that relative file paths resolve inside it. */
export function modelBaseUrl(url: string, pageUrl?: string): string {
  const trimmed = url.trim().replace(/\/cobra\.json$/, "/");
  const base = new URL(trimmed, pageUrl);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  base.search = "";
  base.hash = "";
  return base.href;
}

export function manifestFiles(text: string, where: string): ManifestFile[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON: is this the folder written by \`cobra convert\`?`);
  }
  const { format, parts } = parsed as { format?: unknown; parts?: Record<string, { files?: unknown }> };
  if (format !== "cobra-ts" || typeof parts !== "object" || parts === null)
    throw new Error(
      `${where} is not a cobra-ts manifest: point the URL at a folder written by \`cobra convert\``,
    );
  const files = Object.values(parts).flatMap((p) => (Array.isArray(p?.files) ? p.files : []));
  for (const f of files) {
    if (typeof f?.path !== "string" || typeof f?.size !== "number" || typeof f?.sha256 !== "string")
      throw new Error(`${where} lists a file without path, size and sha256: convert the model again`);
  }
  return files as ManifestFile[];
}
