/**
 * The published package.json files as an npm user meets them: export conditions for Node and browsers, the
 * `source` condition pointing at real sources, native runtimes as peer dependencies, and the metadata a
 * registry page shows.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_ONLY_SUBPATHS, publishedPackages, REPO_DIR } from "./workspace";

/** Installed with the package, these would pull native binaries (or the other platform's runtime). */
const RUNTIMES = ["onnxruntime-node", "onnxruntime-web", "sharp"];

describe.each(publishedPackages())("$name package.json", (pkg) => {
  const m = pkg.manifest as typeof pkg.manifest & {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };

  it.each(Object.entries(m.exports))(
    "exports %s with types, node, default and (unless Node-only) browser",
    (subpath, c) => {
      const expected = ["types", "node", "default", ...(NODE_ONLY_SUBPATHS.has(subpath) ? [] : ["browser"])];
      expect(Object.keys(c)).toEqual(expect.arrayContaining(expected));
      if (NODE_ONLY_SUBPATHS.has(subpath)) expect(c).not.toHaveProperty("browser");
      expect(c.source, "the source condition names a TypeScript file under src/").toMatch(
        /^\.\/src\/.+\.ts$/,
      );
      expect(existsSync(resolve(pkg.dir, c.source))).toBe(true);
    },
  );

  it("takes onnxruntime and sharp as optional peer dependencies, never as dependencies", () => {
    expect(Object.keys(m.dependencies ?? {}).filter((d) => RUNTIMES.includes(d))).toEqual([]);
    for (const peer of Object.keys(m.peerDependencies ?? {}).filter((d) => RUNTIMES.includes(d)))
      expect(m.peerDependenciesMeta?.[peer]?.optional, peer).toBe(true);
    expect(Object.keys(m.peerDependencies ?? {})).toEqual(
      expect.arrayContaining(["onnxruntime-node", "onnxruntime-web"]),
    );
  });

  it("states its license, Node engine and repository folder", () => {
    expect(m.license).toBe("Apache-2.0");
    expect(m.engines).toEqual({ node: ">=20.19" });
    expect(m.repository).toEqual({
      type: "git",
      url: "git+https://github.com/cobra-ts/cobra-ts.git",
      directory: pkg.dir.slice(REPO_DIR.length).replace(/^\/+/, ""),
    });
  });
});
