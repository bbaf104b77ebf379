// scan: "kernel" through the browser entry in a real Chromium page: the LM graph runs in segments and a
// @cobra-ts/scan kernel (bundled into the page with the entry) runs each scan: WebAssembly SIMD with the LM on
// onnxruntime-web WASM, WGSL with the LM on its WebGPU provider (a software adapter here, SwiftShader; towers and
// projector stay on WASM, an encode takes minutes there). The fixture's greedy answers are the oracle's: every
// case on WASM, the first two on WebGPU (all six passed once: 3.5 min at load 7 on 2 cores, too long for the
// suite). Skipped (with a message) only where /usr/bin/chromium is absent.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../../src/convert/convert.js";
import { CASES, type FixtureCase, imagePath, RELEASE_SOURCES } from "../fixture.js";
import { CHROMIUM, type ChromiumPage, haveChromium, openChromiumPage } from "./chromium-page.js";

if (!haveChromium)
  console.warn(`SKIPPED scan kernel in Chromium: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)('scan: "kernel" in headless Chromium', () => {
  let work = "";
  let chromium: ChromiumPage;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cobra-scan-kernel-"));
    const model = join(work, "model");
    await convertRelease(RELEASE_SOURCES, { out: model });
    const served = new Map<string, Uint8Array>();
    for (const name of await readdir(model)) served.set(`/model/${name}`, await readFile(join(model, name)));
    for (const c of CASES) served.set(`/images/${c.image}`, await readFile(imagePath(c.image)));
    chromium = await openChromiumPage(served, { webgpu: true });
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Loads the fixture with `backend` and scan "kernel" in the page and answers `cases` greedily. */
  const answer = (backend: unknown, cases: readonly FixtureCase[]) =>
    chromium.page.evaluate(
      async ({ backend, cases }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the bundled entry on window
        const { Cobra } = (window as any).cobra;
        const cobra = await Cobra.load(`${location.origin}/model/`, {
          wasmPaths: "/ort/",
          backend,
          scan: "kernel",
        });
        try {
          const answers = [];
          for (const c of cases) {
            const image = await (await fetch(`/images/${c.image}`)).blob();
            const messages = c.turns.map((t) => ({ role: t.role, content: t.message }));
            const a = await cobra.generate({ image, messages, maxNewTokens: c.max_new_tokens });
            answers.push({ ids: a.ids as number[], text: a.text as string });
          }
          return { backend: cobra.backend as string, kernel: cobra.parts.lm.scanKernel as string, answers };
        } finally {
          await cobra.release();
        }
      },
      { backend, cases },
    );
  const oracle = (cases: readonly FixtureCase[]) =>
    cases.map((c) => ({ ids: c.greedy_ids, text: c.greedy_text }));

  it("runs the LM's scans in the WASM SIMD kernel and answers every fixture case as the oracle", async () => {
    const r = await answer("wasm", CASES);
    expect(r.backend).toBe("wasm");
    expect(r.kernel).toBe("wasm-simd");
    expect(r.answers).toEqual(oracle(CASES));
    expect(chromium.errors).toEqual([]);
  }, 300_000);

  it("with the LM on WebGPU runs its scans in the WGSL kernel and answers two cases as the oracle", async () => {
    const cases = CASES.slice(0, 2);
    const r = await answer({ vision: "wasm", projector: "wasm", lm: "webgpu" }, cases);
    expect(r.backend).toBe("vision wasm, projector wasm, lm webgpu");
    expect(r.kernel).toBe("webgpu");
    expect(r.answers).toEqual(oracle(cases));
    expect(chromium.errors).toEqual([]);
  }, 300_000);
});
