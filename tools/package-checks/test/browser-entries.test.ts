/**
 * Every entry a browser app may import (all of `exports` but the Node-only subpaths) bundles for the browser
 * from the built `dist/` (what npm users get) without reaching a Node built-in module.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleForBrowser } from "./browser-bundle";
import { NODE_ONLY_SUBPATHS, publishedPackages, specifier } from "./workspace";

const packages = publishedPackages();

describe("browser entries", () => {
  it("finds the published packages", () => {
    expect(packages.map((p) => p.name).sort()).toEqual([
      "@cobra-ts/cobra",
      "@cobra-ts/core",
      "@cobra-ts/mamba-lm",
      "@cobra-ts/projector",
      "@cobra-ts/scan",
      "@cobra-ts/vision-encoder",
    ]);
  });

  it("@cobra-ts/cobra publishes its Web Worker engine as a browser entry", () => {
    const cobra = packages.find((p) => p.name === "@cobra-ts/cobra")!;
    expect(cobra.manifest.exports).toHaveProperty("./worker");
    expect(NODE_ONLY_SUBPATHS.has("./worker")).toBe(false);
  });

  for (const pkg of packages)
    for (const subpath of Object.keys(pkg.manifest.exports).filter((s) => !NODE_ONLY_SUBPATHS.has(s))) {
      const entry = specifier(pkg.name, subpath);
      it(`${entry} reaches no Node built-in`, async () => {
        const dist = resolve(pkg.dir, "dist");
        if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first`);
        const report = await bundleForBrowser(entry, pkg.dir);
        expect(report.nodeBuiltins).toEqual([]);
        expect(report.otherErrors).toEqual([]);
      });
    }
});
