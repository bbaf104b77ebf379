import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  inspectModel,
  type LinearQuantization,
  linearQuantizationFor,
  SafetensorsFile,
  type WeightSource,
} from "@cobra-ts/core/node";
import { checkQuantizationDrift, type DriftBound, weightsAsStored } from "@cobra-ts/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENCODERS, fixturePath, imageSize, pixelImages } from "../../test/fixtures.js";
import { buildVitModel } from "../vit/model.js";
import { openVitRelease, type VitRelease } from "../vit/release.js";
import { normalizeChwU8 } from "../vit/test-helpers.js";
import { writeVitModel } from "../vit/write-model.js";
import { VitEncoder } from "./vit-encoder.js";

const IMAGES = pixelImages();
const DTYPES = ["fp16", "q8", "q4"] as const;
type Tower = (typeof ENCODERS)[number];

/** The weights each dtype stores reduced: every block's Linear weights, and at fp16 the patch embedding too. */
const LINEAR = /\.(attn\.(qkv|proj)|mlp\.fc[12])\.weight$/;
const storedReduced = (dtype: string) => (key: string) =>
  LINEAR.test(key) || (dtype === "fp16" && key.endsWith("patch_embed.proj.weight"));

/**
 * Drift bounds on the cobra-tiny towers (random weights, width 32 / 24, three blocks: K is one block), about
 * 2x the worst tower measured (the printed table). Level 4 adds the int8 quantization of the activations.
 */
const BOUND: Record<string, DriftBound> = {
  "fp16/0": { relL2: 1.5e-3, minCosine: 0.99999 },
  "q8/0": { relL2: 3e-2, minCosine: 0.999 },
  "q8/4": { relL2: 4e-2, minCosine: 0.998 },
  "q4/0": { relL2: 0.5, minCosine: 0.8 },
  "q4/4": { relL2: 0.5, minCosine: 0.8 },
};

describe("ViT towers with fp16 / q8 / q4 weights (cobra-tiny fixture images)", () => {
  const releases = {} as Record<Tower, VitRelease>;
  const pixels = new Map<string, Float32Array>();
  /** fp32 features per tower and image: what every dtype drifts from. */
  const fp32 = new Map<string, Float32Array>();
  const table: string[] = [];

  async function features(
    tower: Tower,
    weights: WeightSource,
    quantization: LinearQuantization | null,
  ): Promise<Float32Array[]> {
    const { config } = releases[tower];
    const model = await buildVitModel(config, weights, { quantization });
    const encoder = await VitEncoder.create(model, config, tower, { threads: 2 });
    try {
      const out: Float32Array[] = [];
      for (const image of IMAGES) out.push((await encoder.encode([pixels.get(`${image}/${tower}`)!])).data);
      return out;
    } finally {
      await encoder.release();
    }
  }

  beforeAll(async () => {
    const expected = await SafetensorsFile.open(fixturePath("expected/tensors.safetensors"));
    try {
      for (const tower of ENCODERS) {
        releases[tower] = await openVitRelease(fixturePath(`release/${tower}`), { imageSize: imageSize() });
        const { mean, std } = releases[tower].config.data;
        for (const image of IMAGES) {
          const u8 = (await expected.read(`pixels/${image}/${tower}`)).data as Uint8Array;
          pixels.set(`${image}/${tower}`, normalizeChwU8(u8, mean, std));
        }
        (await features(tower, releases[tower].weights, null)).forEach((f, i) => {
          fp32.set(`${IMAGES[i]}/${tower}`, f);
        });
      }
    } finally {
      await expected.close();
    }
  });

  afterAll(async () => {
    if (table.length > 0)
      console.log(
        [
          "feature drift vs fp32, worst over the images (tower dtype level: max abs, rel L2, min token cosine)",
          ...table,
        ].join("\n"),
      );
    for (const tower of ENCODERS) await releases[tower]?.weights.close();
  });

  for (const tower of ENCODERS)
    for (const dtype of DTYPES)
      for (const level of dtype === "fp16" ? [0] : [0, 4])
        it(`${tower} ${dtype}, accuracy level ${level}: the fp32 graph on the weights as stored, and the drift from fp32`, async () => {
          const q = linearQuantizationFor(dtype, { accuracyLevel: level as 0 | 4 })!;
          const { weights, config } = releases[tower];
          const got = await features(tower, weights, q);
          const asStored = await features(
            tower,
            await weightsAsStored(weights, storedReduced(dtype), q),
            null,
          );
          const fp32Features = IMAGES.map((image) => fp32.get(`${image}/${tower}`)!);
          const bound = BOUND[`${dtype}/${level}`];
          const line = checkQuantizationDrift(got, asStored, fp32Features, config.embedDim, level, bound);
          table.push(`${tower} ${dtype} level ${level}: ${line}`);
        });

  describe("written to disk", () => {
    let dir = "";
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("q4 / fp16 files: reduced initializers, the dtype in the metadata, the in-memory graph's features", async () => {
      dir = await mkdtemp(join(tmpdir(), "cobra-vit-q-"));
      const { config, weights } = releases.siglip;
      const sizes: Record<string, number> = {};
      const models: Record<string, ReturnType<typeof inspectModel>> = {};
      for (const dtype of ["fp32", "fp16", "q4"] as const) {
        const quantization = linearQuantizationFor(dtype);
        await mkdir(join(dir, dtype));
        const written = await writeVitModel(join(dir, dtype), "siglip.onnx", config, weights, {
          quantization,
        });
        sizes[dtype] = (await stat(join(dir, dtype, "siglip.onnx.data"))).size;
        const model = inspectModel(await readFile(written.model));
        models[dtype] = model;
        // The storage tags only: the config's one source is the manifest's part config.
        expect(Object.keys(model.metadata).sort()).toEqual(["cobra.dtype", "cobra.quantization"]);
        expect(model.metadata["cobra.dtype"]).toBe(dtype);
        expect(JSON.parse(model.metadata["cobra.quantization"])).toEqual(quantization);
        if (dtype === "fp32") continue;
        const fromDisk = await VitEncoder.create(written.model, config, "siglip", { threads: 2 });
        const inMemory = await VitEncoder.create(
          await buildVitModel(config, weights, { quantization }),
          config,
          "siglip",
          { threads: 2 },
        );
        try {
          const px = pixels.get(`${IMAGES[0]}/siglip`)!;
          expect((await fromDisk.encode([px])).data).toEqual((await inMemory.encode([px])).data);
        } finally {
          await fromDisk.release();
          await inMemory.release();
        }
      }
      // fp16: every emitted block's four Linear weights and the patch embedding, at half their fp32 bytes.
      const linear = Array.from({ length: config.featureBlock + 1 }, (_, i) =>
        ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"].map((l) => `blocks.${i}.${l}.weight`),
      ).flat();
      for (const name of [...linear.map((w) => `${w}_t`), "patch_embed.proj.weight"]) {
        const [full, half] = [models.fp32.initializer(name), models.fp16.initializer(name)];
        expect([full?.type, half?.type], name).toEqual(["float32", "float16"]);
        expect(half?.external?.length, name).toBe(full!.external!.length / 2);
      }
      // q4: codes [N, kBlocks, 64 bytes] + fp32 scales, in blocks of 128 (q4's default); the patch embedding
      // stays fp32.
      const { embedDim: d, mlpHidden: h } = config;
      expect(models.q4.initializer("blocks.0.mlp.fc1.weight.codes")).toMatchObject({
        type: "uint8",
        dims: [h, Math.ceil(d / 128), 64],
      });
      expect(models.q4.initializer("blocks.0.mlp.fc2.weight.scales")).toMatchObject({
        type: "float32",
        dims: [d, Math.ceil(h / 128)],
      });
      expect(models.q4.initializer("patch_embed.proj.weight")?.type).toBe("float32");
      expect(models.q4.initializer("blocks.0.mlp.fc1.weight_t")).toBeUndefined();
      expect(sizes.fp16).toBeLessThan(sizes.fp32);
      // (On this tiny tower the fp32 patch embedding outweighs the q4 blocks' saving over fp16.)
      expect(sizes.q4).toBeLessThan(sizes.fp32);
    });
  });
});
