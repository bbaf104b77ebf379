// scan: "kernel" through the browser entry in a real Chromium page (onnxruntime-web WASM): the LM graph runs in
// segments and @cobra-ts/scan's WebAssembly SIMD kernel (bundled into the page with the entry) runs each scan;
// the fixture's greedy answer is the oracle's. Skipped (with a message) only where /usr/bin/chromium is absent.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../../src/convert/convert.js";
import { CASES, imagePath, RELEASE_SOURCES } from "../fixture.js";
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
    chromium = await openChromiumPage(served);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("runs the LM's scans in the WASM SIMD kernel and answers every fixture case as the oracle", async () => {
    const cases = CASES.map((c) => ({ image: c.image, turns: c.turns, maxNewTokens: c.max_new_tokens }));
    const r = await chromium.page.evaluate(async (cases) => {
      // biome-ignore lint/suspicious/noExplicitAny: the bundled entry on window
      const { Cobra } = (window as any).cobra;
      const cobra = await Cobra.load(`${location.origin}/model/`, { wasmPaths: "/ort/", scan: "kernel" });
      try {
        const answers = [];
        for (const c of cases) {
          const image = await (await fetch(`/images/${c.image}`)).blob();
          const messages = c.turns.map((t: { role: string; message: string }) => ({
            role: t.role,
            content: t.message,
          }));
          const a = await cobra.generate({ image, messages, maxNewTokens: c.maxNewTokens });
          answers.push({ ids: a.ids as number[], text: a.text as string });
        }
        return { backend: cobra.backend as string, kernel: cobra.parts.lm.scanKernel as string, answers };
      } finally {
        await cobra.release();
      }
    }, cases);
    expect(r.backend).toBe("wasm");
    expect(r.kernel).toBe("wasm-simd");
    expect(r.answers).toEqual(CASES.map((c) => ({ ids: c.greedy_ids, text: c.greedy_text })));
    expect(chromium.errors).toEqual([]);
  }, 300_000);
});
