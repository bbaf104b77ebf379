#!/usr/bin/env node
// Converts the tiny oracle model (../shared/fixtures/cobra-tiny) with the cobra CLI into .models/cobra-tiny (fp32)
// and .models/cobra-tiny-lm-q4-vision-q8 (`--dtype lm=q4,vision=q8`), which the dev and preview servers serve under
// /models/<name>/. Skips a conversion when its output is newer than the fixture and the packages' builds; `--force`
// converts again. Weights never leave this gitignored folder.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const app = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(app, "../..");
const fixture = resolve(process.env.COBRA_FIXTURES ?? resolve(repo, "../shared/fixtures"), "cobra-tiny");
const cli = join(repo, "packages/cobra/dist/cli.js");
const models = join(app, ".models");
const force = process.argv.includes("--force");

function fail(message) {
  console.error(`dev:model: ${message}`);
  process.exit(1);
}

/** Newest modification time of a file or of anything below a folder. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

if (!existsSync(join(fixture, "release")))
  fail(`no fixture model at ${fixture} (set COBRA_FIXTURES to its parent)`);
if (!existsSync(cli))
  fail(`${cli} is missing: build the packages first (npm run build at the repository root)`);

// The converter spans several packages' builds (chunks, not just cli.js): any newer dist means convert again.
const builds = readdirSync(join(repo, "packages"))
  .map((name) => join(repo, "packages", name, "dist"))
  .filter((dist) => existsSync(dist));
const inputsChanged = Math.max(newest(join(fixture, "release")), ...builds.map(newest));
const release = join(fixture, "release");

/** Converts the fixture into .models/<name> with the extra CLI arguments, unless that is up to date. */
function convert(name, extra) {
  const out = join(models, name);
  const manifest = join(out, "cobra.json");
  if (!force && existsSync(manifest) && newest(manifest) >= inputsChanged) {
    console.log(`dev:model: ${out} is up to date`);
    return;
  }
  const args = [
    cli,
    "convert",
    "--checkpoint",
    join(release, "cobra"),
    "--dino",
    join(release, "dino"),
    "--siglip",
    join(release, "siglip"),
    "--llm",
    join(release, "llm"),
    ...extra,
    "--out",
    out,
  ];
  // A stale conversion is ours to replace (the CLI may refuse to write over an existing folder).
  rmSync(out, { recursive: true, force: true });
  console.log(`dev:model: node ${args.join(" ")}`);
  const result = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (result.status !== 0) fail(`cobra convert failed (exit ${result.status ?? result.signal})`);
  if (!existsSync(manifest)) fail(`cobra convert finished but ${manifest} is missing`);
  console.log(
    `dev:model: converted into ${out}; served at /models/${name}/ by \`npm run dev\` and \`npm run preview\``,
  );
}

convert("cobra-tiny", []);
convert("cobra-tiny-lm-q4-vision-q8", ["--dtype", "lm=q4,vision=q8"]);
