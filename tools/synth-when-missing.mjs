// The benches' model folder: written with the built CLI's `cobra synth` (random weights, real shapes) when it
// holds no cobra.json yet, so a first run needs nothing downloaded.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const CLI = join(import.meta.dirname, "../packages/cobra/dist/cli.js");

/** Writes `folder` with `cobra synth <synthArgs> --out folder` unless it is already a model; exits on failure. */
export function synthWhenMissing(folder, synthArgs, log) {
  if (existsSync(join(folder, "cobra.json"))) return;
  if (!existsSync(CLI)) throw new Error("packages/cobra/dist/cli.js is missing: run `npm run build` first");
  log(`writing ${synthArgs.join(" ")} to ${folder} (cobra synth)`);
  const synth = spawnSync(process.execPath, [CLI, "synth", ...synthArgs, "--out", folder], {
    stdio: "inherit",
  });
  if (synth.status !== 0) process.exit(synth.status ?? 1);
}
