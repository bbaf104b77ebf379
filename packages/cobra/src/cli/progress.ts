import { SingleBar } from "cli-progress";
import type { CliIO } from "./io.js";

export interface ProgressReporter {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

/** A progress bar on a terminal; silent otherwise (logs and CI stay clean). */
export function progressReporter(io: CliIO): ProgressReporter {
  if (!io.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: "{label} |{bar}| {percentage}% {value}/{total}",
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(label, done, total) {
      if (!started) bar.start(total, done, { label });
      started = true;
      bar.setTotal(total);
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
