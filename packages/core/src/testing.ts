/**
 * Test support shared by every package's suite: where the oracle fixtures live. Not for product code.
 * `$COBRA_FIXTURES` names a folder of fixture sets; otherwise the `shared/fixtures` folder next to the
 * repository checkout (or inside it) is found by walking up from this file. `$COBRA_FIXTURE_SET` picks the
 * set (default `cobra-tiny`), so the same suites run on any set made the same way.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export function fixturesRoot(): string {
  if (process.env.COBRA_FIXTURES) return resolve(process.env.COBRA_FIXTURES);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, "shared/fixtures"), join(dir, "../shared/fixtures")])
      if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no shared/fixtures folder above the package: set COBRA_FIXTURES");
    dir = parent;
  }
}

/** The folder of one fixture set (README.md, release/, images/, expected/). */
export function fixtureSet(name = process.env.COBRA_FIXTURE_SET ?? "cobra-tiny"): string {
  return join(fixturesRoot(), name);
}

/** Deterministic values in [-scale, scale) for tests: repeatable, not random in any stronger sense. */
export function pseudoRandom(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}
