/** Checks that the browser lets this site store a model before downloading it, and explains when it does not. */
import { formatBytes } from "./format-bytes.js";

export interface StorageEstimateLike {
  quota?: number;
  usage?: number;
}

/** A message for the user when `needed` bytes will not fit in the site's storage quota, else null. */
export function storageShortage(needed: number, estimate: StorageEstimateLike | null): string | null {
  if (!estimate || estimate.quota === undefined || needed <= 0) return null;
  const free = Math.max(0, estimate.quota - (estimate.usage ?? 0));
  if (needed <= free) return null;
  return (
    `Not enough browser storage to keep this model: it needs ${formatBytes(needed)}, but this site may only ` +
    `store ${formatBytes(free)} more. The model still loads, but a reload will download it again. ` +
    "Free space with “Clear cached models”, by deleting this site's data, or by freeing disk space."
  );
}

/** What to say when a cache write failed because storage ran out. */
export function quotaMessage(file: string): string {
  return (
    `Browser storage ran out while saving ${file}: the model still loads, but a reload will download it ` +
    "again. Free space with “Clear cached models”, by deleting this site's data, or by freeing disk space."
  );
}

export async function estimateStorage(): Promise<StorageEstimateLike | null> {
  if (typeof navigator === "undefined" || !navigator.storage?.estimate) return null;
  try {
    return await navigator.storage.estimate();
  } catch {
    return null;
  }
}
