// Runs the WebGPU kernel for real in headless Chromium (software WebGPU via SwiftShader on machines without
// a GPU; the GPU's own adapter where Chromium finds one), plus the wasm kernel with Web Workers in a
// crossOriginIsolated page. The page computes; Node compares with the fixtures and the reference.
// Needs Debian's `chromium` package; skipped (with a message) only where /usr/bin/chromium is absent.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../scripts/bundle.mjs";
import { compare, storedOutputs } from "./cases.js";
import { fixturesPresent, loadScanFixture } from "./fixtures.js";
import { FIXTURE_TOL, type Tolerance } from "./suite.js";
import type { KernelReport, PagePayload } from "./webgpu-page/entry.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--use-angle=swiftshader",
  "--enable-features=Vulkan",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Per kernel in the page. WebGPU: the GPU's exp is allowed a few ulp more than the wasm polynomial. */
const TOLERANCE: Record<string, Tolerance> = { webgpu: FIXTURE_TOL, "wasm-simd": FIXTURE_TOL };

function fromB64(b64: string): Float32Array {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

const chromiumPresent = existsSync(CHROMIUM);

describe.skipIf(!chromiumPresent || !fixturesPresent())("WebGPU in headless Chromium", () => {
  let server: Server;
  let browser: Browser;
  let result: { adapter: string | null; isolated: boolean; reports: KernelReport[]; errors: string[] };
  let payload: PagePayload;

  beforeAll(async () => {
    const script = await bundle({
      entry: join(import.meta.dirname, "webgpu-page/entry.ts"),
      outfile: join(import.meta.dirname, "../.cache/webgpu-page.js"),
      platform: "browser",
    });
    const js = readFileSync(script);
    server = createServer((req, res) => {
      // COOP + COEP: a crossOriginIsolated page, so the wasm kernel gets SharedArrayBuffer and Web Workers.
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
      if (req.url === "/page.js") {
        res.setHeader("Content-Type", "text/javascript");
        res.end(js);
      } else {
        res.setHeader("Content-Type", "text/html");
        res.end(
          '<!doctype html><meta charset="utf-8"><title>scan</title><script type="module" src="/page.js"></script>',
        );
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const fixture = await loadScanFixture();
    payload = {
      cases: fixture.cases,
      tensors: Object.fromEntries(
        Object.entries(fixture.tensors).map(([k, t]) => [
          k,
          {
            shape: [...t.shape],
            b64: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64"),
          },
        ]),
      ),
    };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(m.text()));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => "runScanTests" in globalThis, undefined, { timeout: 30_000 });
    result = await page.evaluate(
      (p) =>
        (globalThis as unknown as { runScanTests: (p: unknown) => Promise<typeof result> }).runScanTests(p),
      payload,
    );
    if (result.errors.length) console.error(result.errors.join("\n"), logs.join("\n"));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it("gets a WebGPU adapter from navigator.gpu.requestAdapter()", () => {
    console.log(`[webgpu] adapter: ${result.adapter}; crossOriginIsolated: ${result.isolated}`);
    expect(result.errors.filter((e) => e.startsWith("webgpu"))).toEqual([]);
    expect(result.adapter).toBeTruthy();
  });

  for (const kernel of ["webgpu", "wasm-simd"]) {
    it(`${kernel} in the page reproduces the fixtures and passes the consistency checks`, () => {
      const r = result.reports.find((x) => x.kernel === kernel);
      expect(r, `${kernel} did not run: ${result.errors.join("\n")}`).toBeDefined();
      if (!r) return;
      const tol = TOLERANCE[kernel];
      const failures: string[] = [];
      let worstFixture = 0;
      let worstCheck = 0;
      let worstRatio = 0;
      let compared = 0;
      for (const c of payload.cases) {
        // Every output the case stores is compared (the page returns `<case>/<arg>` for what it computed).
        for (const [arg, name] of storedOutputs(c)) {
          const key = `${c.case}/${arg}`;
          const b64 = r.fixture[key];
          if (b64 === undefined) {
            failures.push(`${key}: stored but not computed`);
            continue;
          }
          const expected = payload.tensors[name];
          compared++;
          const cmp = compare(fromB64(b64), fromB64(expected.b64), tol.rtol, tol.atol);
          worstFixture = Math.max(worstFixture, cmp.maxAbs);
          worstRatio = Math.max(worstRatio, cmp.worstRatio);
          if (cmp.bad !== 0) {
            failures.push(`${key}: ${cmp.bad} off, max abs ${cmp.maxAbs}, max rel ${cmp.maxRel}`);
            if (process.env.SCAN_DEBUG) {
              const a = fromB64(b64);
              const e = fromB64(expected.b64);
              for (let i = 0; i < a.length; i++)
                if (Math.abs(a[i] - e[i]) > tol.atol + tol.rtol * Math.abs(e[i]))
                  console.log(key, i, a[i], e[i]);
            }
          }
        }
      }
      for (const ch of r.checks) {
        const cmp = compare(fromB64(ch.actual), fromB64(ch.expected), tol.rtol, tol.atol, true);
        worstCheck = Math.max(worstCheck, cmp.maxRelToMax);
        if (cmp.bad !== 0)
          failures.push(`${ch.name}: ${cmp.bad} off, max abs ${cmp.maxAbs}, rel to max ${cmp.maxRelToMax}`);
      }
      console.log(
        `[${kernel} in chromium, ${r.detail}] fixture max abs ${worstFixture.toExponential(2)}, worst error / bound ${worstRatio.toFixed(2)}; consistency max rel-to-max ${worstCheck.toExponential(2)}; ${r.ms.toFixed(0)} ms`,
      );
      expect(compared).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    });
  }
});

if (!chromiumPresent)
  describe("WebGPU in headless Chromium", () => {
    it.skip(`skipped: ${CHROMIUM} is absent (CI: apt-get install -y chromium)`, () => {});
  });
