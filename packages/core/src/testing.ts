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

/** erf in float64 to ~1e-15: Taylor series near 0, continued fraction for erfc further out. */
export function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let k = 1; k < 80; k++) {
      term *= (-t * t) / k;
      sum += term / (2 * k + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let k = 80; k >= 1; k--) f = k / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

/** torch's exact GELU, x * Phi(x), in float64: what an Erf-based graph must reproduce. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}
