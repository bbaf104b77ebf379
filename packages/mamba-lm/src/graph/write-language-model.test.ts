import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InvalidArgumentError,
  inspectModel,
  MemoryWeights,
  type ModelFileReader,
  ModelFormatError,
  type ModelPart,
  type PartLoader,
  WeightsMismatchError,
} from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadProgress, MambaLM as PortableMambaLM } from "../model/mamba-lm.js";
import { MambaLM, mambaLmLoaders } from "../model/mamba-lm-node.js";
import { argmax } from "../sampling/sample.js";
import {
  CASES,
  expectedFloats,
  fixtureConfig,
  loadFixtureLM,
  maxAbsDiff,
  openCheckpoint,
  prefillLogitCases,
  prefixOf,
} from "../test-support/fixture.js";
import type { ConversionProgress } from "./convert.js";
import { readScanRegions, SCAN_REGIONS_METADATA } from "./scan-regions.js";
import { writeLanguageModel } from "./write-language-model.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mamba-lm-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("writeLanguageModel (Node)", () => {
  it("writes lm.onnx + external data and returns the mamba-lm part, streaming with progress; the folder loads and matches the in-memory model", async () => {
    const out = join(dir, "ok");
    const source = await openCheckpoint();
    const progress: ConversionProgress[] = [];
    const written = await writeLanguageModel(out, source, fixtureConfig(), {
      onProgress: (p) => progress.push(p),
    });
    await source.close();
    expect(written.files).toEqual(["lm.onnx", "lm.onnx.data"]);
    expect((await readdir(out)).sort()).toEqual(["lm.onnx", "lm.onnx.data"]);
    expect(progress.length).toBe(4 * 10 + 2); // 10 tensors per layer, embedding, norm_f; lm_head tied: not stored
    expect(progress.at(-1)).toMatchObject({ done: 42, total: 42 });
    expect(progress.at(-1)!.bytesDone).toBe(progress.at(-1)!.bytesTotal);
    // The part's config is the one place the architecture is stored: the graph keeps only its format tags.
    expect(written).toMatchObject({
      kind: "mamba-lm",
      dtype: "fp32",
      config: {
        graph: "lm.onnx",
        model: { ...fixtureConfig() },
        options: { logits: "last", scanOutput: "per-token" },
      },
    });
    const metadata = inspectModel(await readFile(join(out, "lm.onnx")), "lm.onnx").metadata;
    expect(Object.keys(metadata).sort()).toEqual([
      "cobra.format",
      "cobra.format_version",
      SCAN_REGIONS_METADATA,
    ]);
    expect(metadata).toMatchObject({ "cobra.format": "mamba-lm", "cobra.format_version": "3" });
    // Where each layer's scan is, so the graph alone can run its scans in a kernel.
    expect(readScanRegions(metadata, "lm.onnx").layers).toHaveLength(fixtureConfig().nLayer);

    const stages: LoadProgress[] = [];
    const fromDisk = await MambaLM.load(out, { onProgress: (p) => stages.push(p) });
    expect(stages.map((s) => s.stage)).toEqual(["reading", "creating-session", "ready"]);
    const inMemory = await loadFixtureLM();
    const c = CASES[0];
    const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
    expect(
      maxAbsDiff((await fromDisk.prefill(input)).logits.data, (await inMemory.prefill(input)).logits.data),
    ).toBe(0);
    await Promise.all([fromDisk.release(), inMemory.release()]);
  });

  it('a folder whose manifest asks for scan "kernel" runs its scans in the kernel, on the graph\'s own external data, and matches the graph form', async () => {
    const out = join(dir, "kernel");
    const source = await openCheckpoint();
    const written = await writeLanguageModel(out, source, fixtureConfig(), { scan: "kernel" });
    await source.close();
    expect(written.config.scan).toBe("kernel");
    // Opened through the part loader, as Cobra.load does: the manifest's choice applies.
    const loader = mambaLmLoaders.find((l) => l.slot === "lm") as PartLoader<"lm">;
    const reader: ModelFileReader = {
      where: out,
      size: async () => null,
      bytes: async (path) => new Uint8Array(await readFile(join(out, path))),
      sha256: async () => "",
      localPath: (path) => join(out, path),
    };
    const part: ModelPart = {
      ...written,
      files: written.files.map((path) => ({ path, size: 0, sha256: "" })),
      backend: undefined,
    };
    const kernel = (await loader.load(part, {
      reader,
      runtime: { backend: "cpu" },
      where: "parts.lm",
    })) as PortableMambaLM;
    expect(kernel).toBeInstanceOf(PortableMambaLM);
    const graph = await MambaLM.load(out);
    try {
      const c = CASES[0];
      const input = { prefixEmbeds: await prefixOf(c), ids: c.input_ids };
      const [a, b] = [await graph.prefill(input), await kernel.prefill(input)];
      expect(maxAbsDiff(a.logits.data, b.logits.data)).toBeLessThanOrEqual(1e-4);
      const [sa, sb] = [
        await graph.step(c.greedy_ids[0], a.state),
        await kernel.step(c.greedy_ids[0], b.state),
      ];
      expect(maxAbsDiff(sa.logits.data, sb.logits.data)).toBeLessThanOrEqual(1e-4);
    } finally {
      await Promise.all([graph.release(), kernel.release()]);
    }
  });

  it("the folder also loads on wasm (onnxruntime-web, external data handed over by path) and matches the oracle", async () => {
    const out = join(dir, "wasm");
    const source = await openCheckpoint();
    await writeLanguageModel(out, source, fixtureConfig());
    await source.close();
    const lm = await MambaLM.load(out, { backend: "wasm" });
    try {
      expect(lm.backend).toBe("wasm");
      const cases = await prefillLogitCases();
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        const { logits } = await lm.prefill({ prefixEmbeds: await prefixOf(c), ids: c.input_ids });
        expect(
          maxAbsDiff(logits.data, await expectedFloats(`logits/${c.id}/prefill`)),
          c.id,
        ).toBeLessThanOrEqual(1e-4);
        expect(argmax(logits.data), c.id).toBe(c.step_top5[0].ids[0]);
      }
    } finally {
      await lm.release();
    }
  });

  it("leaves nothing behind when the weights are refused or a read fails midway", async () => {
    const source = await openCheckpoint();
    const tensors = new Map(
      await Promise.all(source.keys().map(async (k) => [k, await source.read(k)] as const)),
    );
    await source.close();
    const refused = join(dir, "refused");
    const missing = new MemoryWeights(
      new Map([...tensors].filter(([k]) => !k.endsWith("layers.1.mixer.A_log"))),
    );
    await expect(writeLanguageModel(refused, missing, fixtureConfig())).rejects.toThrow(WeightsMismatchError);
    await expect(readdir(refused)).rejects.toThrow(); // validated before the folder was even created

    const failing = join(dir, "failing");
    const broken = new MemoryWeights(tensors);
    let reads = 0;
    broken.read = async (key) => {
      if (++reads === 20) throw new Error("disk on fire");
      return tensors.get(key)!;
    };
    await expect(writeLanguageModel(failing, broken, fixtureConfig())).rejects.toThrow("disk on fire");
    expect(await readdir(failing)).toEqual([]);
  });

  it("load refuses a folder that is not a converted LM", async () => {
    const empty = join(dir, "empty");
    await expect(MambaLM.load(empty)).rejects.toThrow(ModelFormatError);
    await writeFile(join(dir, "notes.txt"), "not a model");
    await expect(MambaLM.load(dir)).rejects.toThrow(
      /holds no lm\.onnx: convert the model with writeLanguageModel/,
    );
  });

  it("only the Node entry's MambaLM loads from a path; the platform-independent one says where to go", async () => {
    const out = join(dir, "by-path");
    const source = await openCheckpoint();
    await writeLanguageModel(out, source, fixtureConfig());
    await source.close();
    const lm = await MambaLM.load(out);
    expect(lm).toBeInstanceOf(MambaLM);
    await lm.release();
    const portable = PortableMambaLM.load(out as never);
    await expect(portable).rejects.toThrow(InvalidArgumentError);
    await expect(portable).rejects.toThrow(/@cobra-ts\/mamba-lm\/node/);
  });
});
