import { SingleBar } from "cli-progress";
import type { CliIO } from "./io.js";

export interface ProgressReporter {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

/** Off a terminal, a plain progress line at most this often: a long run shows it is alive, a short one stays quiet. */
export const PLAIN_PROGRESS_EVERY_MS = 15_000;

/**
 * A progress bar on a terminal. Elsewhere (a pipe, a log file, CI) one plain line "<label>: <percent>%" once
 * PLAIN_PROGRESS_EVERY_MS has passed since the start or the last line: no bar redraws in logs, and a
 * conversion of a 14 GB checkpoint is not minutes of silence.
 */
export function progressReporter(io: CliIO, now: () => number = Date.now): ProgressReporter {
  if (!io.isTTY) {
    let last = now();
    return {
      update(label, done, total) {
        if (now() - last < PLAIN_PROGRESS_EVERY_MS) return;
        last = now();
        io.stderr(`${label}: ${total > 0 ? Math.floor((100 * done) / total) : 0}%\n`);
      },
      stop() {},
    };
  }
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

export interface RateProgress {
  /** `doneNow` of `done` were done by this process in `elapsedMs` (work resumed from before is not timed). */
  update(done: number, total: number, doneNow: number, elapsedMs: number): void;
  stop(): void;
}

/** A progress bar with items per second and the time left, on a terminal; silent otherwise. */
export function rateProgress(io: CliIO, label: string, unit: string): RateProgress {
  if (!io.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} |{bar}| {value}/{total} ${unit} {rate} ${unit}/s ETA {left}`,
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(done, total, doneNow, elapsedMs) {
      const perSecond = elapsedMs > 0 ? (1000 * doneNow) / elapsedMs : 0;
      const payload = {
        rate: perSecond > 0 ? perSecond.toFixed(perSecond < 10 ? 2 : 1) : "-",
        left: perSecond > 0 ? duration((total - done) / perSecond) : "-",
      };
      if (!started) bar.start(total, done, payload);
      started = true;
      bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** 75 -> "1m15s", 4000 -> "1h06m". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
