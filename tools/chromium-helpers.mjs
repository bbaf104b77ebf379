// packages/cobra's Chromium test helpers (a page with the browser entry, the WASM heap hook), bundled for the tools
// that measure in a browser. The bundle is written inside packages/cobra so that chromium-page's
// "../../src/browser.ts" is the entry's source.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export async function chromiumHelpers() {
  const pkg = join(import.meta.dirname, "../packages/cobra");
  const outfile = join(pkg, ".cache/bench/chromium-helpers.mjs");
  await build({
    stdin: {
      contents: [
        'export { openChromiumPage } from "./test/browser/chromium-page.ts";',
        'export { measureLmHeap, WASM_HEAP_HOOK } from "./test/browser/wasm-heap-hook.ts";',
      ].join("\n"),
      resolveDir: pkg,
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  return import(pathToFileURL(outfile).href);
}
