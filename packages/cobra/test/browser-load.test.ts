// The browser entry's loader, run in Node: onnxruntime-web's Node build stands in for the page's (the same
// wasm), so a model loaded from picked files gets a runtime per part and the oracle's answers.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import type { MambaLM } from "@cobra-ts/mamba-lm";
import type { OnnxProjector } from "@cobra-ts/projector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cobra as BrowserCobra } from "../src/browser.js";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import { CASES, caseRequest, RELEASE_SOURCES } from "./fixture.js";

const BASE = "https://models.test/cobra-tiny/";
let work = "";
let files: Map<string, Blob>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-browser-load-"));
  const model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  files = new Map();
  for (const name of await readdir(model)) files.set(name, new Blob([await readFile(join(model, name))]));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("@cobra-ts/cobra/browser Cobra.load with a backend per part", () => {
  it("sets threads on the env of the module the parts run on, and answers like the oracle", async () => {
    const web = await import("onnxruntime-web");
    const cobra = await BrowserCobra.load(files, { backend: { vision: "wasm", lm: "wasm" }, threads: 1 });
    try {
      expect(cobra.backend).toBe("wasm");
      expect(web.env.wasm.numThreads).toBe(1);
      const projector = cobra.parts.projector as OnnxProjector;
      const lm = cobra.parts.lm as MambaLM;
      expect([projector.backend, lm.backend]).toEqual(["wasm", "wasm"]);
      expect(projector.ort).toBe(web);
      expect(lm.ort).toBe(web);
      // Images decoded the Node way; the parts are the ones the browser loader built from bytes.
      const composed = Cobra.fromParts(cobra.parts, cobra.settings);
      const c = CASES[0];
      const r = await composed.generate(caseRequest(c));
      expect(r.ids).toEqual(c.greedy_ids);
      expect(r.text).toBe(c.greedy_text);
    } finally {
      await cobra.release();
    }
  });

  it("reads a URL source once per file through the given fetch; with verify a modified file is refused", async () => {
    const serve = (served: Map<string, Blob>, requests: string[]) => async (input: RequestInfo | URL) => {
      const url = String(input);
      requests.push(url);
      const blob = served.get(url.slice(BASE.length));
      return blob ? new Response(blob) : new Response("not found", { status: 404 });
    };
    const requests: string[] = [];
    const progress = new Set<string>();
    const cobra = await BrowserCobra.load(BASE, {
      fetch: serve(files, requests),
      verify: true,
      onProgress: (p) => progress.add(p.file),
    });
    try {
      expect(requests.sort()).toEqual([...files.keys()].map((f) => BASE + f).sort());
      expect(progress).toEqual(new Set(files.keys()));
      const r = await Cobra.fromParts(cobra.parts, cobra.settings).generate(caseRequest(CASES[1]));
      expect(r.ids).toEqual(CASES[1].greedy_ids);
    } finally {
      await cobra.release();
    }

    const modified = new Map(files);
    const data = new Uint8Array(await files.get("lm.onnx.data")!.arrayBuffer());
    data[data.length >> 1] ^= 0xff;
    modified.set("lm.onnx.data", new Blob([data]));
    await expect(BrowserCobra.load(BASE, { fetch: serve(modified, []), verify: true })).rejects.toThrow(
      /lm\.onnx\.data has sha256 [0-9a-f]{64}, cobra\.json lists [0-9a-f]{64}: it was modified or corrupted/,
    );
    // A picked folder checks sizes from the Blobs, before reading them.
    const truncated = new Map(files);
    truncated.set("lm.onnx.data", new Blob([data.subarray(0, 10)]));
    await expect(BrowserCobra.load(truncated)).rejects.toThrow(/lm\.onnx\.data has 10 bytes/);
  });

  it("refuses cpu for a part, and a bad name, with typed errors before reading any file", async () => {
    const none = new Map<string, Blob>();
    await expect(BrowserCobra.load(none, { backend: { lm: "cpu" } })).rejects.toThrow(InvalidArgumentError);
    await expect(BrowserCobra.load(none, { backend: { lm: "cpu" } })).rejects.toThrow(
      /backend\.lm: "cpu" is onnxruntime-node, which only runs in Node; use "wasm" or "webgpu"/,
    );
    await expect(BrowserCobra.load(none, { backend: { vision: "gl" as never } })).rejects.toThrow(
      'backend.vision: unknown backend "gl"; use "cpu", "wasm", "webgpu"',
    );
  });
});
