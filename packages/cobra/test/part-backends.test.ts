// One backend per part: onnxruntime-web (wasm) and onnxruntime-node (cpu) in one process, each part on the
// runtime it was loaded with, and the oracle's greedy answers either way.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { MambaLM } from "@cobra-ts/mamba-lm";
import { OnnxProjector } from "@cobra-ts/projector";
import { FusedEncoder, ImageEncoder, VitEncoder } from "@cobra-ts/vision-encoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import { CASES, caseRequest, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-backends-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The ViT towers of a loaded model's encoder (one, or the fused ones). */
function towersOf(cobra: Cobra): VitEncoder[] {
  const encoder = cobra.parts.encoder;
  expect(encoder).toBeInstanceOf(ImageEncoder);
  const towers = (encoder as ImageEncoder).towers;
  const all = towers instanceof FusedEncoder ? towers.parts : [towers];
  for (const t of all) expect(t).toBeInstanceOf(VitEncoder);
  return all as VitEncoder[];
}

async function expectOracleAnswers(cobra: Cobra): Promise<void> {
  for (const c of CASES) {
    const r = await cobra.generate(caseRequest(c));
    expect(r.ids, c.id).toEqual(c.greedy_ids);
    expect(r.text, c.id).toBe(c.greedy_text);
  }
}

describe("Cobra.load with a backend per part (Node)", () => {
  it("(a) vision and projector on wasm, the LM on cpu: two runtimes in one process, the oracle's answers", async () => {
    const cobra = await Cobra.load(model, { backend: { vision: "wasm", projector: "wasm", lm: "cpu" } });
    try {
      const web = await import("onnxruntime-web");
      const node = await import("onnxruntime-node");
      const towers = towersOf(cobra);
      expect(towers.length).toBeGreaterThan(0);
      for (const t of towers) {
        expect(t.backend).toBe("wasm");
        expect(t.ort).toBe(web);
      }
      const projector = cobra.parts.projector as OnnxProjector;
      expect(projector).toBeInstanceOf(OnnxProjector);
      expect(projector.backend).toBe("wasm");
      expect(projector.ort).toBe(web);
      const lm = cobra.parts.lm as MambaLM;
      expect(lm).toBeInstanceOf(MambaLM);
      expect(lm.backend).toBe("cpu");
      expect(lm.ort).toBe(node);
      expect(lm.ort).not.toBe(projector.ort);
      await expectOracleAnswers(cobra);
    } finally {
      await cobra.release();
    }
  });

  it("(b) the whole model on wasm (onnxruntime-web in Node) gives the oracle's answers", async () => {
    const cobra = await Cobra.load(model, { backend: "wasm" });
    try {
      for (const t of towersOf(cobra)) expect(t.backend).toBe("wasm");
      expect((cobra.parts.projector as OnnxProjector).backend).toBe("wasm");
      expect((cobra.parts.lm as MambaLM).backend).toBe("wasm");
      await expectOracleAnswers(cobra);
    } finally {
      await cobra.release();
    }
  });

  it("an absent part runs on the platform default (cpu in Node)", async () => {
    const cobra = await Cobra.load(model, { backend: { lm: "wasm" } });
    try {
      for (const t of towersOf(cobra)) expect(t.backend).toBe("cpu");
      expect((cobra.parts.projector as OnnxProjector).backend).toBe("cpu");
      expect((cobra.parts.lm as MambaLM).backend).toBe("wasm");
    } finally {
      await cobra.release();
    }
  });

  it("(c) a bad backend name for a part, or an unknown part, is a typed error naming the valid ones", async () => {
    const bad = Cobra.load(model, { backend: { vision: "wasm", lm: "gpu" as never } });
    await expect(bad).rejects.toThrow(InvalidArgumentError);
    await expect(bad).rejects.toThrow('backend.lm: unknown backend "gpu"; use "cpu", "wasm", "webgpu"');
    await expect(Cobra.load(model, { backend: "metal" as never })).rejects.toThrow(
      'backend: unknown backend "metal"; use "cpu", "wasm", "webgpu"',
    );
    const part = Cobra.load(model, { backend: { tower: "cpu" } as never });
    await expect(part).rejects.toThrow(InvalidArgumentError);
    await expect(part).rejects.toThrow(
      'backend: unknown part "tower"; the parts are "vision", "projector", "lm"',
    );
  });
});
