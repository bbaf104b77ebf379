import type { CliIO } from "./io.js";

/**
 * The first Ctrl-C aborts the returned signal (after `onFirst` says what happens now); a second one quits at
 * once with the default SIGINT exit. `off` stops listening.
 */
export function abortOnInterrupt(io: CliIO, onFirst: () => void): { signal: AbortSignal; off(): void } {
  const controller = new AbortController();
  const off = io.onInterrupt?.(() => {
    if (controller.signal.aborted) {
      off?.();
      process.kill(process.pid, "SIGINT");
      return;
    }
    onFirst();
    controller.abort();
  });
  return { signal: controller.signal, off: () => off?.() };
}
