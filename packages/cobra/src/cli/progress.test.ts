import { describe, expect, it } from "vitest";
import type { CliIO } from "./io.js";
import { PLAIN_PROGRESS_EVERY_MS, progressReporter } from "./progress.js";

describe("progressReporter off a terminal", () => {
  it("writes a plain percent line once the interval has passed since the start or the last line", () => {
    const lines: string[] = [];
    const io = { isTTY: false, stderr: (t: string) => lines.push(t) } as unknown as CliIO;
    let clock = 1_000_000;
    const bar = progressReporter(io, () => clock);
    const at = (ms: number, label: string, done: number, total: number) => {
      clock = 1_000_000 + ms;
      bar.update(label, done, total);
    };
    at(0, "lm embedding.weight", 0, 400);
    at(PLAIN_PROGRESS_EVERY_MS - 1, "lm layers.0.norm.weight", 10, 400);
    expect(lines).toEqual([]); // a short run stays quiet
    at(PLAIN_PROGRESS_EVERY_MS, "lm layers.3.mixer.in_proj.weight", 101, 400);
    at(PLAIN_PROGRESS_EVERY_MS + 5_000, "lm layers.5.mixer.D", 150, 400);
    at(2 * PLAIN_PROGRESS_EVERY_MS, "hash cobra.json", 0, 0);
    bar.stop();
    expect(lines).toEqual(["lm layers.3.mixer.in_proj.weight: 25%\n", "hash cobra.json: 0%\n"]);
  });
});
