// The test helper that bundles `@cobra-ts/cobra/browser` and opens Chromium (packages/cobra/test/browser/
// chromium-page.ts), for the tools that run in a page. Bundled two folders below packages/cobra so that its
// "../../src/browser.ts" is the entry's source.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** The helper's module: `{ openChromiumPage, CHROMIUM, haveChromium }`. */
export async function chromiumPageHelper() {
  const pkg = join(import.meta.dirname, "../packages/cobra");
  const helper = join(pkg, ".cache/bench/chromium-page.mjs");
  await build({
    entryPoints: [join(pkg, "test/browser/chromium-page.ts")],
    outfile: helper,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  return import(pathToFileURL(helper).href);
}
