/**
 * Rate-limits per-file progress messages: a multi-gigabyte file arrives in hundreds of thousands of chunks, and
 * one postMessage per chunk would keep the page busy for nothing.
 */
import type { FileProgress } from "./protocol.js";

export function throttleProgress(
  send: (progress: FileProgress) => void,
  intervalMs: number,
  now: () => number = () => performance.now(),
): (progress: FileProgress, final?: boolean) => void {
  const lastSent = new Map<string, number>();
  return (progress, final = false) => {
    const t = now();
    const last = lastSent.get(progress.file);
    const complete = progress.total !== null && progress.loaded >= progress.total;
    if (final || complete || last === undefined || t - last >= intervalMs) {
      lastSent.set(progress.file, t);
      send(progress);
    }
  };
}
