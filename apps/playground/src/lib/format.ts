/** Human-readable sizes and rates for the UI (binary units, like the browser's own download UI). */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/** "1.20 MiB / 3.00 MiB", or just the loaded bytes when the total is unknown. */
export function formatProgress(loaded: number, total: number | null): string {
  return total === null ? formatBytes(loaded) : `${formatBytes(loaded)} / ${formatBytes(total)}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
