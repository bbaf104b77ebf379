import type { LoadedInfo } from "@cobra-ts/cobra/worker";
import type { ModelState } from "../hooks/useModel";
import { backendLabel } from "../lib/backend-label";
import { formatBytes } from "../lib/format";

/** One line saying what the model is doing, which backend runs it, and a stop button while loading. */
export function ModelStatus({ state, onStop }: { state: ModelState; onStop(): void }) {
  const { phase, info, error } = state;
  return (
    <div className="status" data-testid="model-status" data-phase={phase}>
      {phase === "idle" && <span>No model loaded.</span>}
      {phase === "loading" && (
        <>
          <span>Loading…</span>
          <button type="button" data-testid="stop-loading" onClick={onStop}>
            Stop
          </button>
        </>
      )}
      {phase === "ready" && info && (
        <span>
          Ready{info.modelId ? `: ${info.modelId}` : ""} · {info.fileCount} files,{" "}
          {formatBytes(info.totalBytes)} · {whereFrom(info)} · running on{" "}
          <strong data-testid="active-backend" data-backend={info.backend}>
            {backendLabel(info)}
          </strong>{" "}
          ·{" "}
          <span
            className="dtypes"
            data-testid="model-dtypes"
            data-lm={info.dtypes.lm}
            data-vision={info.dtypes.vision}
            data-projector={info.dtypes.projector}
            title="The precision each part's weights are stored at (cobra.json)"
          >
            {describeDtypes(info.dtypes)}
          </span>
        </span>
      )}
      {phase === "stopped" && <span>Loading stopped.</span>}
      {phase === "failed" && (
        <span className="error" role="alert" data-testid="model-error">
          {error}
        </span>
      )}
    </div>
  );
}

/**
 * "LM q4 · vision q8 · projector fp32": the LM first, since its precision matters most to the answer; "fp32
 * weights" when every part shares one dtype, which keeps the status line short enough that the image panel
 * below stays in a 1280x800 window.
 */
function describeDtypes(d: LoadedInfo["dtypes"]): string {
  if (d.lm === d.vision && d.lm === d.projector) return `${d.lm} weights`;
  return `LM ${d.lm} · vision ${d.vision} · projector ${d.projector}`;
}

function whereFrom(info: LoadedInfo): string {
  if (info.from === "folder") return "read from a local folder";
  return info.cached ? "kept in this browser" : "not kept in this browser";
}
