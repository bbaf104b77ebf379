import type { FileProgress } from "@cobra-ts/cobra/worker";
import { formatProgress } from "../lib/format";

/**
 * One progress bar per model file: bytes loaded, total, and whether it came from the browser cache. Folded
 * into its total line once every file is in, so that the image panel below is not pushed out of the window.
 */
export function FileProgressList({ files }: { files: FileProgress[] }) {
  if (files.length === 0) return null;
  const loaded = files.reduce((sum, f) => sum + f.loaded, 0);
  const totals = files.map((f) => f.total);
  const total = totals.every((t) => t !== null) ? totals.reduce((a, b) => a + b, 0) : null;
  const allDone = files.every((f) => f.total !== null && f.loaded >= f.total);
  return (
    <details className="files" open={!allDone}>
      <summary className="files-total" data-testid="files-total">
        {files.length} files · {formatProgress(loaded, total)}
      </summary>
      <ul>
        {files.map((f) => (
          <li
            key={f.file}
            data-testid="file-progress"
            data-file={f.file}
            data-from-cache={String(f.fromCache)}
            data-done={String(f.total !== null && f.loaded >= f.total)}
          >
            <span className="file-name" title={f.file}>
              {f.file}
            </span>
            {f.total === null ? <progress /> : <progress max={f.total || 1} value={f.total ? f.loaded : 1} />}
            <span className="file-bytes">
              {formatProgress(f.loaded, f.total)}
              {f.fromCache ? " · cached" : ""}
            </span>
          </li>
        ))}
      </ul>
    </details>
  );
}
