/** The published workspace packages and their `exports`, read from the repository's own package.json files. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_DIR = fileURLToPath(new URL("../../..", import.meta.url));

export type Conditions = Record<string, string>;

export interface PublishedPackage {
  name: string;
  dir: string;
  manifest: {
    exports: Record<string, Conditions>;
    files?: string[];
    bin?: Record<string, string>;
    [key: string]: unknown;
  };
}

/** Entry points that only make sense in Node (file system, CLI, test fixtures): no `browser` condition. */
export const NODE_ONLY_SUBPATHS = new Set(["./node", "./testing"]);

/** Every workspace that is not private: what `npm publish --workspaces` would publish. */
export function publishedPackages(): PublishedPackage[] {
  const root = JSON.parse(readFileSync(resolve(REPO_DIR, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  return root.workspaces
    .map((folder) => {
      const dir = resolve(REPO_DIR, folder);
      const manifest = JSON.parse(readFileSync(resolve(dir, "package.json"), "utf8"));
      return { name: manifest.name as string, dir, manifest, private: manifest.private === true };
    })
    .filter((p) => !p.private)
    .map(({ name, dir, manifest }) => ({ name, dir, manifest }));
}

/** `@scope/name` plus a subpath of its exports map ("." is the package itself). */
export function specifier(name: string, subpath: string): string {
  return subpath === "." ? name : `${name}/${subpath.slice(2)}`;
}
