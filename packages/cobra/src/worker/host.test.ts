import { describe, expect, it } from "vitest";
import { CobraWorkerHost } from "./host.js";
import type { CacheLike } from "./model-cache.js";
import { cacheKey } from "./model-cache.js";
import type { WorkerEvent, WorkerRequest } from "./protocol.js";
import type { StorageEstimateLike } from "./storage.js";
import { FakeCache, FakeServer, fakeCobra, manifestFor, shaOf } from "./test-support/fakes.js";

const BASE = "https://models.test/cobra-tiny/";
const FILES = { "lm.onnx": "lm-graph-bytes", "tokenizer.json": "{}" };
const ANSWER = [" The", " astronaut", " smiles", "."];

function setup(
  options: {
    cache?: CacheLike | null;
    estimate?: StorageEstimateLike | null;
    files?: Record<string, string>;
    /** The parts cobra.json lists and their dtypes (an fp32 LM when absent). */
    dtypes?: Parameters<typeof manifestFor>[2];
    lookDelayMs?: number;
    answer?: string[];
    microtasksOnly?: boolean;
    maxPairs?: number;
    /** Files whose download fails without a response, as an unreachable server or a CORS refusal does. */
    unreachable?: string[];
  } = {},
) {
  const files = options.files ?? FILES;
  const server = new FakeServer(BASE, {
    ...files,
    "cobra.json": manifestFor(files, undefined, options.dtypes),
  });
  const cobra = fakeCobra(options.answer ?? ANSWER, options);
  const events: WorkerEvent[] = [];
  let clock = 0;
  const host = new CobraWorkerHost({
    loadCobra: cobra.loadCobra,
    emit: (e) => events.push(e),
    wasmPaths: "https://app.test/ort/",
    crossOriginIsolated: true,
    logicalCores: 8,
    fetch: (input, init) =>
      options.unreachable?.some((path) => String(input).endsWith(`/${path}`))
        ? Promise.reject(new TypeError("Failed to fetch"))
        : server.fetch(input, init),
    openCache: async () => (options.cache === undefined ? new FakeCache() : options.cache),
    estimateStorage: async () =>
      options.estimate === undefined ? { quota: 1e9, usage: 0 } : options.estimate,
    now: () => (clock += 10),
    progressIntervalMs: 0,
  });
  const send = (request: WorkerRequest) => host.handle(request);
  const of = <T extends WorkerEvent["type"]>(type: T, id?: number) =>
    events.filter(
      (e): e is Extract<WorkerEvent, { type: T }> => e.type === type && (id === undefined || e.id === id),
    );
  return { host, server, cobra, events, send, of };
}

const loadUrl = (id: number): WorkerRequest => ({
  type: "load",
  id,
  source: { kind: "url", url: "https://models.test/cobra-tiny" },
  backend: "wasm",
});

describe("CobraWorkerHost", () => {
  it("loads from a URL with per-file progress, reports the backend and keeps the files", async () => {
    const cache = new FakeCache();
    const t = setup({ cache });
    await t.send(loadUrl(1));
    expect(t.of("failed")).toEqual([]);
    expect(t.of("loaded")[0]).toMatchObject({
      backend: "wasm",
      modelId: "cobra-fake",
      fileCount: 2,
      cached: true,
      crossOriginIsolated: true,
    });
    expect(t.cobra.calls[0]).toMatchObject({
      source: BASE,
      backend: "wasm",
      wasmPaths: "https://app.test/ort/",
    });
    const lm = t.of("progress").filter((p) => p.file === "lm.onnx");
    expect(lm[0]).toMatchObject({ loaded: 0, total: 14 });
    expect(lm.at(-1)).toMatchObject({ loaded: 14, total: 14, fromCache: false });
    expect(cache.entries.size).toBe(2);
    // cobra.json was read once, before loading, and handed to Cobra from memory.
    expect(t.server.requests.filter((u) => u.endsWith("cobra.json"))).toHaveLength(1);
  });

  it("loads a second time from the browser cache", async () => {
    const cache = new FakeCache();
    await setup({ cache }).send(loadUrl(1));
    const again = setup({ cache });
    await again.send(loadUrl(1));
    expect(again.of("loaded")).toHaveLength(1);
    expect(again.server.fileRequests()).toEqual([]);
    const finals = again.of("progress").filter((p) => p.loaded === p.total && p.loaded > 0);
    expect(finals.every((p) => p.fromCache)).toBe(true);
  });

  it("says so when storage is short, then loads without caching", async () => {
    const cache = new FakeCache();
    const t = setup({ cache, estimate: { quota: 100, usage: 95 } });
    await t.send(loadUrl(1));
    expect(t.of("notice")[0].message).toMatch(/Not enough browser storage.*needs 16 B.*5 B more/);
    expect(t.of("loaded")[0].cached).toBe(false);
    expect(cache.entries.size).toBe(0);
  });

  it("reports a QuotaExceededError during caching before it reports the model loaded", async () => {
    const t = setup({ cache: new FakeCache(15) });
    await t.send(loadUrl(1));
    expect(t.of("notice")[0].message).toMatch(/storage ran out while saving/);
    expect(t.events.findIndex((e) => e.type === "notice")).toBeLessThan(
      t.events.findIndex((e) => e.type === "loaded"),
    );
    expect(t.of("loaded")[0].cached).toBe(false);
  });

  it("explains that models cannot be kept without the Cache API", async () => {
    const t = setup({ cache: null });
    await t.send(loadUrl(1));
    expect(t.of("notice")[0].message).toMatch(/Cache API needs https or localhost/);
    expect(t.of("loaded")).toHaveLength(1);
  });

  it("drops an older conversion's cached files once the new one loaded", async () => {
    const cache = new FakeCache();
    await setup({ cache }).send(loadUrl(1));
    await setup({ cache, files: { ...FILES, "lm.onnx": "new-lm-graph" } }).send(loadUrl(1));
    expect([...cache.entries.keys()].sort()).toEqual(
      [
        cacheKey(`${BASE}lm.onnx`, shaOf("new-lm-graph")),
        cacheKey(`${BASE}tokenizer.json`, shaOf("{}")),
      ].sort(),
    );
  });

  it("fails clearly when the URL is not a converted model", async () => {
    const t = setup();
    await t.send({
      ...loadUrl(1),
      source: { kind: "url", url: "https://models.test/nothing/" },
    } as WorkerRequest);
    expect(t.of("failed")[0].error.message).toMatch(/HTTP 404.*cobra convert/);
  });

  it("names the URL that could not be fetched and what to check", async () => {
    for (const path of ["cobra.json", "lm.onnx"]) {
      const t = setup({ unreachable: [path] });
      await t.send(loadUrl(1));
      const message = t.of("failed")[0].error.message;
      expect(message).toContain(`Could not fetch ${BASE}${path} (Failed to fetch).`);
      expect(message).toMatch(/Check that the URL is right.*CORS/);
    }
  });

  it("loads a picked folder through Cobra's own progress", async () => {
    const t = setup();
    const files = Object.entries({
      ...FILES,
      "cobra.json": manifestFor(FILES),
      "notes.txt": "not a model file",
    }).map(([path, body]) => ({
      path,
      blob: new Blob([body]),
    }));
    await t.send({ type: "load", id: 1, source: { kind: "files", files }, backend: "webgpu" });
    expect(t.of("loaded")[0]).toMatchObject({ backend: "webgpu", cached: false, from: "folder" });
    expect(t.cobra.calls[0].source).toBeInstanceOf(Map);
    expect(
      t
        .of("progress")
        .filter((p) => p.file === "lm.onnx")
        .at(-1),
    ).toMatchObject({ loaded: 14 });
    expect(new Set(t.of("progress").map((p) => p.file))).toEqual(new Set(Object.keys(FILES)));
  });

  it("reports each part's dtype as cobra.json records it, from a URL and from a folder", async () => {
    const dtypes = { encoder: "q8", projector: "fp16", lm: "q4" } as const;
    const t = setup({ dtypes });
    await t.send(loadUrl(1));
    const files = Object.entries({ ...FILES, "cobra.json": manifestFor(FILES, undefined, dtypes) }).map(
      ([path, body]) => ({ path, blob: new Blob([body]) }),
    );
    await t.send({ type: "load", id: 2, source: { kind: "files", files }, backend: "wasm" });
    expect(t.of("failed")).toEqual([]);
    for (const id of [1, 2])
      expect(t.of("loaded", id)[0].dtypes).toEqual({ vision: "q8", projector: "fp16", lm: "q4" });
  });

  it("reports fp32 for a part whose dtype cobra.json does not record", async () => {
    // The default fake folder has an fp32 LM only; here its LM records no dtype either.
    const t = setup({ dtypes: { lm: undefined } });
    await t.send(loadUrl(1));
    expect(t.of("failed")).toEqual([]);
    expect(t.of("loaded")[0].dtypes).toEqual({ vision: "fp32", projector: "fp32", lm: "fp32" });
  });

  it("asks for a model before an image, and for an image before a question", async () => {
    const t = setup();
    await t.send({ type: "look", id: 1, image: new Blob([]) });
    await t.send({ type: "load", id: 2, source: { kind: "url", url: BASE }, backend: "wasm" });
    await t.send({ type: "ask", id: 3, question: "?", maxNewTokens: 4 });
    expect(t.of("failed").map((e) => e.error.message)).toEqual([
      "Load a model before adding an image.",
      "Add an image before asking a question.",
    ]);
  });

  it("streams an answer token by token with time to first token and tokens/s, reusing the image", async () => {
    const t = setup();
    await t.send(loadUrl(1));
    await t.send({ type: "look", id: 2, image: new Blob(["png"]) });
    expect(t.of("looked", 2)).toHaveLength(1);
    await t.send({ type: "ask", id: 3, question: "What is in the image?", maxNewTokens: 24 });
    await t.send({ type: "ask", id: 4, question: "And then?", maxNewTokens: 2 });
    expect(t.of("token", 3).map((e) => e.text)).toEqual(ANSWER);
    const [first, second] = t.of("answered");
    // Fake clock: +10 per reading; start, then one reading per token, then the final one.
    expect(first.stats).toEqual({ tokens: 4, ttftMs: 10, tokensPerSecond: 100, totalMs: 50 });
    expect(first.aborted).toBe(false);
    expect(second.history.map((turn) => turn.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(second.history[1].text).toBe(ANSWER.join(""));
  });

  it("stops an answer when asked to", async () => {
    const t = setup();
    await t.send(loadUrl(1));
    await t.send({ type: "look", id: 2, image: new Blob(["png"]) });
    const asking = t.send({ type: "ask", id: 3, question: "?", maxNewTokens: 24 });
    while (t.of("token", 3).length === 0) await new Promise((r) => setTimeout(r, 1));
    await t.send({ type: "abort", id: 4, target: 3 });
    await asking;
    const [answered] = t.of("answered", 3);
    expect(answered.aborted).toBe(true);
    expect(answered.stats.tokens).toBeLessThan(ANSWER.length);
  });

  it("sees a stop request even when the model never returns to the event loop between tokens", async () => {
    const t = setup({ answer: Array.from({ length: 100_000 }, () => "x"), microtasksOnly: true });
    await t.send(loadUrl(1));
    await t.send({ type: "look", id: 2, image: new Blob(["png"]) });
    const asking = t.send({ type: "ask", id: 3, question: "?", maxNewTokens: 100_000 });
    // A message from the page arrives as a task, like this timer.
    setTimeout(() => t.send({ type: "abort", id: 4, target: 3 }), 0);
    await asking;
    const [answered] = t.of("answered", 3);
    expect(answered.aborted).toBe(true);
    expect(answered.stats.tokens).toBeLessThan(100_000);
  });

  it("stops an image encoding that is queued or running", async () => {
    const t = setup({ lookDelayMs: 20 });
    await t.send(loadUrl(1));
    const looking = t.send({ type: "look", id: 2, image: new Blob(["png"]) });
    await t.send({ type: "abort", id: 3, target: 2 });
    await looking;
    expect(t.of("failed", 2)[0].error.name).toBe("AbortError");
  });

  it("drops the oldest turns when the chat outgrows the prompt limit, and says so", async () => {
    const t = setup({ maxPairs: 1 });
    await t.send(loadUrl(1));
    await t.send({ type: "look", id: 2, image: new Blob(["png"]) });
    await t.send({ type: "ask", id: 3, question: "first?", maxNewTokens: 2 });
    await t.send({ type: "ask", id: 4, question: "second?", maxNewTokens: 2 });
    await t.send({ type: "ask", id: 5, question: "third?", maxNewTokens: 2 });
    expect(t.of("answered").map((a) => a.droppedTurns)).toEqual([0, 0, 1]);
    expect(t.of("notice", 5)[0].message).toMatch(
      /outgrew the model's prompt limit: its oldest question and answer were dropped/,
    );
    expect(
      t
        .of("answered", 5)[0]
        .history.filter((h) => h.role === "user")
        .map((h) => h.text),
    ).toEqual(["second?", "third?"]);
  });

  it("releases the model on request and before loading another; a released model answers nothing", async () => {
    const t = setup();
    await t.send(loadUrl(1));
    await t.send(loadUrl(2));
    expect(t.cobra.released.count).toBe(1);
    await t.send({ type: "release", id: 3 });
    expect(t.of("released", 3)).toHaveLength(1);
    expect(t.cobra.released.count).toBe(2);
    await t.send({ type: "look", id: 4, image: new Blob(["png"]) });
    expect(t.of("failed", 4)[0].error).toEqual({
      name: "InvalidArgumentError",
      message: "Load a model before adding an image.",
    });
  });
});
