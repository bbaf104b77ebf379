import { clearModelCache, estimateStorage, type StorageEstimateLike } from "@cobra-ts/cobra/worker";
import { useCallback, useEffect, useState } from "react";

/** The site's storage use and quota, refreshed on demand, and a way to drop the cached models. */
export function useStorage(): {
  estimate: StorageEstimateLike | null;
  refresh(): void;
  clear(): Promise<boolean>;
} {
  const [estimate, setEstimate] = useState<StorageEstimateLike | null>(null);
  const refresh = useCallback(() => {
    estimateStorage().then(setEstimate);
  }, []);
  useEffect(refresh, [refresh]);
  const clear = useCallback(async () => {
    const removed = await clearModelCache();
    refresh();
    return removed;
  }, [refresh]);
  return { estimate, refresh, clear };
}
