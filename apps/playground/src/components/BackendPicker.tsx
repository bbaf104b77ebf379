import type { Backend } from "@cobra-ts/cobra/worker";
import type { WebGpuSupport } from "../lib/webgpu";

interface Props {
  value: Backend;
  onChange(backend: Backend): void;
  webgpu: WebGpuSupport | null;
  disabled: boolean;
}

/** WASM always works; WebGPU is offered when the browser has an adapter. */
export function BackendPicker({ value, onChange, webgpu, disabled }: Props) {
  const webgpuLabel =
    webgpu === null
      ? "WebGPU (checking…)"
      : webgpu.available
        ? "WebGPU"
        : `WebGPU (unavailable: ${webgpu.detail})`;
  return (
    <div className="row">
      {/* grow: the WebGPU option's text can be long; the select shrinks to the panel instead of widening it */}
      <label className="grow">
        Backend{" "}
        <select
          data-testid="backend-select"
          value={value}
          disabled={disabled}
          onChange={(e) => onChange(e.target.value as Backend)}
        >
          <option value="wasm">WASM (CPU)</option>
          <option value="webgpu" disabled={!webgpu?.available}>
            {webgpuLabel}
          </option>
        </select>
      </label>
      {webgpu?.available && (
        <span className="hint" data-testid="webgpu-adapter">
          adapter: {webgpu.detail}
        </span>
      )}
      {value === "webgpu" && webgpu && !webgpu.available && (
        <span className="warning">WebGPU is not available here ({webgpu.detail}); choose WASM.</span>
      )}
    </div>
  );
}
