// The fixture and consistency suite, run against one kernel.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScanKernel } from "../src/types.js";
import { compare, runCase, type ScanCase, storedOutputs, type Tensors } from "./cases.js";
import { type Coverage, consistencyChecks } from "./consistency.js";
import { fixturesPresent, loadScanFixture } from "./fixtures.js";

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** The bar: 1e-5 relative / 1e-6 absolute (|a - e| <= atol + rtol |e|). */
export const FIXTURE_TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

export function kernelSuite(
  name: string,
  create: () => Promise<ScanKernel>,
  tol: Tolerance = FIXTURE_TOL,
  coverage: Coverage = {},
): void {
  describe(`${name} kernel`, () => {
    let kernel: ScanKernel;
    let fixture: { cases: ScanCase[]; tensors: Tensors };
    const worst: Record<string, number> = {};
    let worstConsistency = 0;
    let worstRatio = 0;
    beforeAll(async () => {
      kernel = await create();
      fixture = await loadScanFixture();
    });
    afterAll(() => {
      kernel?.dispose();
      console.log(`[${name}] max abs error vs fixture per kind: ${JSON.stringify(worst)}`);
      console.log(
        `[${name}] worst fixture error / (${tol.atol} + ${tol.rtol} |e|) = ${worstRatio.toFixed(2)}`,
      );
      console.log(
        `[${name}] consistency checks: max |a - e| / max |e| = ${worstConsistency.toExponential(2)}`,
      );
    });

    it.runIf(fixturesPresent())("reproduces every case of expected/scan.safetensors", async () => {
      const failures: string[] = [];
      let compared = 0;
      expect(fixture.cases.length).toBeGreaterThan(0);
      for (const c of fixture.cases) {
        const got = await runCase(kernel, c, fixture.tensors);
        const stored = storedOutputs(c);
        expect(stored.size, `${c.case}: stored outputs`).toBeGreaterThan(0);
        // Every output the case stores is compared; one the kernel computes but the case does not store is not.
        for (const [arg, name] of stored) {
          const actual = got[arg];
          if (!actual) {
            failures.push(`${c.case}/${arg}: stored but not computed`);
            continue;
          }
          const expected = fixture.tensors[name].data;
          compared++;
          const r = compare(actual, expected, tol.rtol, tol.atol);
          worst[c.kind] = Math.max(worst[c.kind] ?? 0, r.maxAbs);
          worstRatio = Math.max(worstRatio, r.worstRatio);
          if (r.bad !== 0)
            failures.push(`${c.case}/${arg}: ${r.bad} values off, max abs ${r.maxAbs}, max rel ${r.maxRel}`);
        }
      }
      expect(failures).toEqual([]);
      expect(compared).toBeGreaterThan(0);
    });

    // Normwise (|a - e| <= atol + rtol max|e|): long random sequences cancel to near zero in places.
    it("one-token ops equal the full ops token by token, chunked calls equal one call, and agree with the reference", async () => {
      const failures: string[] = [];
      for (const ch of await consistencyChecks(kernel, coverage)) {
        const r = compare(ch.actual, ch.expected, tol.rtol, tol.atol, true);
        worstConsistency = Math.max(worstConsistency, r.maxRelToMax);
        if (r.bad !== 0)
          failures.push(`${ch.name}: ${r.bad} values off, max abs ${r.maxAbs}, rel to max ${r.maxRelToMax}`);
      }
      expect(failures).toEqual([]);
    });
  });
}
