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
