#!/usr/bin/env node
// npm run bench -w @cobra-ts/scan [-- --json] [-- --quick]: bundles bench/bench.ts and runs it with node.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundle } from "./bundle.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = await bundle({
  entry: join(root, "bench/bench.ts"),
  outfile: join(root, ".cache/bench.mjs"),
  platform: "node",
});
await import(pathToFileURL(out).href);
