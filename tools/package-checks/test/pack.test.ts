/**
 * `npm pack --dry-run` of each published package: the tarball holds what the package needs (every file its
 * `exports` and `bin` name, README, LICENSE, package.json) and nothing else: no tests, test support or
 * fixtures. `src/` ships (minus tests) because the `source` export condition names it.
 */
import { existsSync, readFileSync } from "node:fs";
import { posix, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packedFiles, requiredFiles, TEST_ONLY, unexpectedFiles } from "./packed-files";
import { publishedPackages, REPO_DIR } from "./workspace";

/** Relative imports of a TypeScript source (".js" specifiers name ".ts" files). */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
}

describe.each(publishedPackages())("npm pack of $name", (pkg) => {
  let files: string[] = [];
  const packed = async () => {
    if (!existsSync(resolve(pkg.dir, "dist")))
      throw new Error(`${pkg.dir}/dist is missing: run \`npm run build\``);
    if (files.length === 0) files = await packedFiles(pkg.dir);
    return files;
  };

  it("holds every file its exports and bin name, README, LICENSE and package.json", async () => {
    const have = await packed();
    expect(requiredFiles(pkg).filter((f) => !have.includes(f))).toEqual([]);
  });

  it("holds nothing else: no tests, test support or fixtures", async () => {
    const have = await packed();
    expect(unexpectedFiles(have, requiredFiles(pkg))).toEqual([]);
    expect(have.filter((f) => TEST_ONLY.some((re) => re.test(f)))).toEqual([]);
  });

  it("ships sources that are whole: every relative import of a packed source is packed too", async () => {
    const have = new Set(await packed());
    const missing: string[] = [];
    for (const file of [...have].filter((f) => f.startsWith("src/") && f.endsWith(".ts")))
      for (const spec of relativeImports(readFileSync(resolve(pkg.dir, file), "utf8"))) {
        const target = posix.join(posix.dirname(file), spec.replace(/\.js$/, ".ts"));
        if (!have.has(target)) missing.push(`${file} imports ${spec}`);
      }
    expect(missing).toEqual([]);
  });

  it("ships the repository's Apache-2.0 LICENSE", () => {
    const license = resolve(pkg.dir, "LICENSE");
    expect(existsSync(license)).toBe(true);
    expect(readFileSync(license, "utf8")).toBe(readFileSync(resolve(REPO_DIR, "LICENSE"), "utf8"));
  });
});
