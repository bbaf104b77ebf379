// Bundles an entry with esbuild, workspace packages (@cobra-ts/*) from their TypeScript sources and every
// other package left external (resolved from node_modules at run time). Used by the bench and the WebGPU
// test page, so neither needs a build of the workspace first.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), "../..");

const workspaceSources = {
  name: "workspace-sources",
  setup(b) {
    b.onResolve({ filter: /^@cobra-ts\/[\w-]+$/ }, (args) => ({
      path: join(packagesDir, args.path.slice("@cobra-ts/".length), "src/index.ts"),
    }));
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === "entry-point" ? undefined : { path: args.path, external: true },
    );
  },
};

/** Bundles `entry` to `outfile` (ESM) for "node" or "browser". */
export async function bundle({ entry, outfile, platform }) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform,
    target: "es2022",
    sourcemap: "inline",
    logLevel: "warning",
    plugins: [workspaceSources],
  });
  return outfile;
}
