import type { RunProgress } from "../run-progress.js";
import { abortOnInterrupt } from "./interrupt.js";
import type { CliIO } from "./io.js";
import { rateProgress } from "./progress.js";

/**
 * What a long run that a rerun resumes (`eval run`, `batch`) shows and hears: a rate bar on a terminal, news
 * lines on stderr, and Ctrl-C, which aborts `signal` so the run stops with every finished result kept (a second
 * Ctrl-C quits at once). Call `close` when the run ends, however it ends.
 */
export function resumableRun(io: CliIO, command: string, label: string, unit: string) {
  const progress = rateProgress(io, label, unit);
  const interrupt = abortOnInterrupt(io, () => {
    progress.stop();
    io.stderr(`cobra ${command}: stopping (Ctrl-C again to quit at once)\n`);
  });
  return {
    signal: interrupt.signal,
    onProgress: (p: RunProgress) => progress.update(p.done, p.total, p.doneNow, p.elapsedMs),
    log: (line: string) => {
      progress.stop();
      io.stderr(`cobra ${command}: ${line}\n`);
    },
    /** Clears the bar (before the result is printed). */
    stopProgress: () => progress.stop(),
    close: () => {
      interrupt.off();
      progress.stop();
    },
  };
}
