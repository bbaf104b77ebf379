import { describe, expect, it } from "vitest";
import { createCachingFetch } from "./caching-fetch.js";
import type { ManifestFile } from "./loaded-cobra.js";
import { cacheKey } from "./model-cache.js";
import type { FileProgress } from "./protocol.js";
import { FakeCache, FakeServer } from "./test-support/fakes.js";

const BASE = "https://models.test/cobra/";
const BODIES = { "lm.onnx": "0123456789abcdef", "vision.onnx": "vision-graph" };

function setup(cache: FakeCache | null, sha = "v1", server = new FakeServer(BASE, BODIES)) {
  const files = new Map<string, ManifestFile>(
    Object.entries(BODIES).map(([path, body]) => [
      new URL(path, BASE).href,
      { path, size: body.length, sha256: `${sha}-${path}` },
    ]),
  );
  const progress: FileProgress[] = [];
  const cacheErrors: unknown[] = [];
  const cf = createCachingFetch({
    cache,
    files,
    preloaded: new Map([[`${BASE}cobra.json`, '{"format":"cobra-ts"}']]),
    fetch: server.fetch,
    onProgress: (p) => progress.push(p),
    onCacheError: (_file, error) => cacheErrors.push(error),
  });
  const readAll = async () => {
    const texts: string[] = [];
    for (const path of Object.keys(BODIES)) texts.push(await (await cf.fetch(`${BASE}${path}`)).text());
    await cf.settled();
    return texts;
  };
  return { cf, server, progress, cacheErrors, readAll };
}

const last = (progress: FileProgress[], file: string) => progress.filter((p) => p.file === file).at(-1);

describe("createCachingFetch", () => {
  it("streams from the network with per-file progress and keeps each file under its URL + sha256", async () => {
    const cache = new FakeCache();
    const { server, progress, readAll } = setup(cache);
    expect(await readAll()).toEqual(Object.values(BODIES));
    expect(server.fileRequests()).toHaveLength(2);
    expect(last(progress, "lm.onnx")).toEqual({ file: "lm.onnx", loaded: 16, total: 16, fromCache: false });
    // Several reports per file: the progress follows the body stream, not just start and end.
    expect(progress.filter((p) => p.file === "lm.onnx").length).toBeGreaterThan(3);
    expect([...cache.entries.keys()].sort()).toEqual(
      [cacheKey(`${BASE}lm.onnx`, "v1-lm.onnx"), cacheKey(`${BASE}vision.onnx`, "v1-vision.onnx")].sort(),
    );
  });

  it("serves a second load from the cache without touching the network", async () => {
    const cache = new FakeCache();
    await setup(cache).readAll();
    const again = setup(cache);
    expect(await again.readAll()).toEqual(Object.values(BODIES));
    expect(again.server.requests).toEqual([]);
    expect(last(again.progress, "vision.onnx")).toMatchObject({ loaded: 12, total: 12, fromCache: true });
  });

  it("downloads again when the manifest lists another sha256 for the same URL", async () => {
    const cache = new FakeCache();
    await setup(cache, "v1").readAll();
    const changed = setup(cache, "v2");
    await changed.readAll();
    expect(changed.server.fileRequests()).toHaveLength(2);
  });

  it("keeps downloading when storage runs out, and stops caching after a QuotaExceededError", async () => {
    const cache = new FakeCache(20); // room for lm.onnx (16 bytes), not for vision.onnx too
    const { readAll, cacheErrors } = setup(cache);
    expect(await readAll()).toEqual(Object.values(BODIES));
    expect(cacheErrors).toHaveLength(1);
    expect((cacheErrors[0] as Error).name).toBe("QuotaExceededError");
    expect(cache.entries.size).toBe(1);
  });

  it("never caches a download shorter than the manifest says", async () => {
    const cache = new FakeCache();
    const server = new FakeServer(BASE, { ...BODIES, "lm.onnx": "0123" });
    const { cf, cacheErrors } = setup(cache, "v1", server);
    expect(await (await cf.fetch(`${BASE}lm.onnx`)).text()).toBe("0123");
    await cf.settled();
    expect(cache.entries.size).toBe(0);
    expect(String(cacheErrors[0])).toMatch(/received 4 bytes, cobra.json lists 16/);
  });

  it("answers preloaded URLs from memory and passes unknown URLs through", async () => {
    const { cf, server } = setup(new FakeCache());
    expect(await (await cf.fetch(`${BASE}cobra.json`)).json()).toEqual({ format: "cobra-ts" });
    expect((await cf.fetch(`${BASE}other.bin`)).status).toBe(404);
    expect(server.requests).toEqual([`${BASE}other.bin`]);
  });

  it("works without a cache", async () => {
    const { readAll, progress } = setup(null);
    expect(await readAll()).toEqual(Object.values(BODIES));
    expect(last(progress, "lm.onnx")?.loaded).toBe(16);
  });
});
