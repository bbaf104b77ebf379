import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** Every module index.ts reaches, by following relative imports (".js" specifiers name ".ts" sources). */
function reachableModules(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = readFileSync(file, "utf8");
    seen.set(file, source);
    for (const [, specifier] of source.matchAll(/(?:from|import)\s*["']([^"']+)["']/g)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
    }
  };
  visit(entry);
  return seen;
}

describe("browser safety", () => {
  it("index.ts reaches no Node built-in module (node.ts is the Node-only entry)", () => {
    const index = fileURLToPath(new URL("../index.ts", import.meta.url));
    const modules = reachableModules(index);
    expect(modules.size).toBeGreaterThan(10);
    for (const [file, source] of modules) {
      expect(source, file).not.toMatch(/(?:from|import)\s*["'](?:node:|fs|path|url|crypto)["'/]/);
    }
  });
});
