import type { StorageEstimateLike } from "@cobra-ts/cobra/worker";
import { useState } from "react";
import { formatBytes } from "../lib/format";

interface Props {
  estimate: StorageEstimateLike | null;
  onClear(): Promise<boolean>;
  disabled: boolean;
}

/** The site's storage use and a way to drop the cached models. */
export function StorageLine({ estimate, onClear, disabled }: Props) {
  const [cleared, setCleared] = useState<string | null>(null);
  return (
    <div className="row storage">
      <span className="hint" data-testid="storage-estimate">
        {estimate?.quota !== undefined
          ? `Browser storage: ${formatBytes(estimate.usage ?? 0)} used of ${formatBytes(estimate.quota)} allowed`
          : "Browser storage: unknown"}
      </span>
      <button
        type="button"
        data-testid="clear-cache"
        disabled={disabled}
        onClick={async () => setCleared((await onClear()) ? "Cached models removed." : "Nothing was cached.")}
      >
        Clear cached models
      </button>
      {cleared && <span className="hint">{cleared}</span>}
    </div>
  );
}
