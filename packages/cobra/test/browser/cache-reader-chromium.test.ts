// cacheReader in a real Chromium page: a model folder served over http is loaded through the browser entry
// (onnxruntime-web WASM) and answers like the oracle; its files land in the named Cache, so a second load
// fetches only cobra.json and answers the same; files of an older conversion are dropped from the Cache.
// Skipped (with a message) only where /usr/bin/chromium is absent.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../../src/convert/convert.js";
import { CASES, imagePath, RELEASE_SOURCES } from "../fixture.js";
import { CHROMIUM, type ChromiumPage, haveChromium, openChromiumPage } from "./chromium-page.js";

if (!haveChromium)
  console.warn(`SKIPPED cacheReader in Chromium: ${CHROMIUM} not found (apt-get install -y chromium)`);

const CACHE = "cobra-test-models";
const c = CASES[0];

describe.skipIf(!haveChromium)("cacheReader in headless Chromium", () => {
  let work = "";
  let chromium: ChromiumPage;
  const served = new Map<string, Uint8Array>();
  let listed: { path: string; sha256: string }[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cobra-cache-reader-"));
    const model = join(work, "model");
    await convertRelease(RELEASE_SOURCES, { out: model });
    for (const name of await readdir(model)) served.set(`/model/${name}`, await readFile(join(model, name)));
    served.set("/image", await readFile(imagePath(c.image)));
    const manifest = JSON.parse(await readFile(join(model, "cobra.json"), "utf8"));
    listed = Object.values(manifest.parts as Record<string, { files: { path: string; sha256: string }[] }>)
      .flatMap((p) => p.files)
      .filter((f, i, all) => all.findIndex((g) => g.path === f.path) === i);
    chromium = await openChromiumPage(served);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Loads the model in the page through a fresh cacheReader, answers the fixture case, waits for the Cache. */
  const loadAndAnswer = (answer = true) =>
    chromium.page.evaluate(
      async ({ cacheName, turns, maxNewTokens, answer }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the bundled entry on window
        const { Cobra, cacheReader } = (window as any).cobra;
        const reader = cacheReader(`${location.origin}/model/`, { cache: cacheName });
        const cobra = await Cobra.load(reader, { wasmPaths: "/ort/" });
        try {
          const image = await (await fetch("/image")).blob();
          const messages = turns.map((t: { role: string; message: string }) => ({
            role: t.role,
            content: t.message,
          }));
          const r = answer ? await cobra.generate({ image, messages, maxNewTokens }) : { ids: [], text: "" };
          await reader.settled();
          const keys = (await (await caches.open(cacheName)).keys()).map((k: Request) => k.url);
          return { ids: r.ids as number[], text: r.text as string, backend: cobra.backend as string, keys };
        } finally {
          await cobra.release();
        }
      },
      { cacheName: CACHE, turns: c.turns, maxNewTokens: c.max_new_tokens, answer },
    );

  const modelRequests = (from: number) =>
    chromium.requested.slice(from).filter((p) => p.startsWith("/model/"));

  it("first load: every file fetched once and kept under its listed sha256; the oracle's answer", async () => {
    const from = chromium.requested.length;
    const first = await loadAndAnswer();
    expect(first.backend).toBe("wasm");
    expect(first.ids).toEqual(c.greedy_ids);
    expect(first.text).toBe(c.greedy_text);
    expect(modelRequests(from).sort()).toEqual(
      ["/model/cobra.json", ...listed.map((f) => `/model/${f.path}`)].sort(),
    );
    const expectedKeys = listed.map((f) => `${chromium.origin}/model/${f.path}?cobra-sha256=${f.sha256}`);
    expect(first.keys.sort()).toEqual(expectedKeys.sort());
  }, 120_000);

  it("second load: only cobra.json from the network, the rest from the Cache; the same answer", async () => {
    const from = chromium.requested.length;
    const second = await loadAndAnswer();
    expect(modelRequests(from)).toEqual(["/model/cobra.json"]);
    expect(second.ids).toEqual(c.greedy_ids);
    expect(second.text).toBe(c.greedy_text);
  }, 120_000);

  it("a cached file of an older conversion (another sha256) is dropped once the load settles", async () => {
    const stale = `${chromium.origin}/model/lm.onnx.data?cobra-sha256=${"0".repeat(64)}`;
    await chromium.page.evaluate(
      async ({ cacheName, url }) => (await caches.open(cacheName)).put(url, new Response("old bytes")),
      { cacheName: CACHE, url: stale },
    );
    const third = await loadAndAnswer(false);
    expect(third.keys).not.toContain(stale);
    expect(third.keys).toHaveLength(listed.length);
    expect(chromium.errors).toEqual([]);
  }, 120_000);
});
