/** Human-readable sizes and rates for the UI (binary units, like the browser's own download UI). */
import { formatBytes } from "@cobra-ts/cobra/worker";

export { formatBytes };

/** "1.20 MiB / 3.00 MiB", or just the loaded bytes when the total is unknown. */
export function formatProgress(loaded: number, total: number | null): string {
  return total === null ? formatBytes(loaded) : `${formatBytes(loaded)} / ${formatBytes(total)}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
