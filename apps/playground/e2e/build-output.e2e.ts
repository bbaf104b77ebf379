/**
 * The production build ships each onnxruntime WASM binary once, every one its ort code loads, and stays within
 * a stated size. A .wasm that a bundled module points at with `new URL(…, import.meta.url)` is emitted as a
 * hashed asset besides the copy in dist/ort/: that, and copying all four ort variants, once made it 136 MB.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DIST_DIR } from "./paths";

/**
 * The whole of dist/: the two ort variants the app loads (JSEP for WASM, asyncify for WebGPU: 55 MB together)
 * plus about 1 MB of app and ort JS.
 */
const MAX_DIST_BYTES = 60 * 1024 * 1024;

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: "utf8" })
    .map((name) => resolve(folder, name))
    .filter((path) => statSync(path).isFile());
}

describe("the production build (dist/)", () => {
  const files = filesUnder(DIST_DIR);

  it("emits each WASM binary once", () => {
    const byContent = new Map<string, string[]>();
    for (const path of files.filter((p) => p.endsWith(".wasm"))) {
      const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
      byContent.set(hash, [...(byContent.get(hash) ?? []), relative(DIST_DIR, path)]);
    }
    expect(byContent.size).toBeGreaterThan(0);
    expect([...byContent.values()].filter((paths) => paths.length > 1)).toEqual([]);
  });

  it("ships the loader and binary of every ort variant its JS names", () => {
    const js = files.filter((p) => p.endsWith(".js")).map((p) => readFileSync(p, "utf8"));
    const named = new Set(
      js.flatMap((code) => code.match(/ort-wasm-simd-threaded(?:\.[a-z]+)?\.mjs/g) ?? []),
    );
    expect(named.size).toBeGreaterThan(0);
    const shipped = new Set(files.map((p) => relative(DIST_DIR, p)));
    const missing = [...named]
      .flatMap((loader) => [loader, loader.replace(/\.mjs$/, ".wasm")])
      .filter((name) => !shipped.has(`ort/${name}`));
    expect(missing).toEqual([]);
  });

  it(`stays under ${MAX_DIST_BYTES / 1024 / 1024} MB`, () => {
    const total = files.reduce((sum, path) => sum + statSync(path).size, 0);
    expect(total).toBeLessThanOrEqual(MAX_DIST_BYTES);
  });
});
