import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  f32,
  GraphBuilder,
  ModelFormatError,
  ortFor,
  SafetensorsFile,
  serializeModel,
} from "@cobra-ts/core/node";
import { recordingOrt } from "@cobra-ts/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ENCODERS,
  fixtureImages,
  fixturePath,
  imageSize,
  manifest,
  normalization,
  pixelImages,
  vitReleaseFormat,
} from "../../test/fixtures.js";
import { openVitRelease, type VitRelease } from "../vit/release.js";
import { maxAbs, maxAbsDiff, normalizeChwU8 } from "../vit/test-helpers.js";
import { writeVitModel } from "../vit/write-model.js";
import { concatFeatures, FusedEncoder } from "./fused.js";
import type { EncodedFeatures } from "./types.js";
import { VitEncoder } from "./vit-encoder.js";

/** Images the set stores pixels for (cobra-tiny: some; the other sets: all): the encoders' exact inputs. */
const IMAGES = pixelImages();
const BACKBONES = ENCODERS;
/** Max abs error relative to the expected tensor's largest magnitude. */
const REL_TOL = 1e-4;

describe("ViT encoders vs the oracle fixture set (timm v0.9.10, fp32)", () => {
  const releases = {} as Record<(typeof BACKBONES)[number], VitRelease>;
  const encoders = {} as Record<(typeof BACKBONES)[number], VitEncoder>;
  let expected: SafetensorsFile;
  const pixels = new Map<string, Float32Array>();
  /** [numPatches, featureDim] per backbone, from the expected features. */
  const dims = {} as Record<(typeof BACKBONES)[number], [number, number]>;
  const size = imageSize();
  /** The sessions the oracle's encoders run in: their options are checked below. */
  let recorded: ReturnType<typeof recordingOrt>;

  beforeAll(async () => {
    recorded = recordingOrt(await ortFor({ backend: "cpu" }));
    expected = await SafetensorsFile.open(fixturePath("expected/tensors.safetensors"));
    for (const name of BACKBONES) {
      // The release folder as it is (open_clip or timm-native), through the package's own opener.
      releases[name] = await openVitRelease(fixturePath(`release/${name}`), { imageSize: size });
      encoders[name] = await VitEncoder.fromWeights(releases[name].config, releases[name].weights, name, {
        threads: 2,
        ort: recorded.ort,
      });
      const [, patches, dim] = expected.info(`features/${fixtureImages()[0].name}/${name}`).shape;
      dims[name] = [patches, dim];
      for (const image of IMAGES) {
        const u8 = (await expected.read(`pixels/${image}/${name}`)).data as Uint8Array;
        pixels.set(
          `${image}/${name}`,
          normalizeChwU8(u8, releases[name].config.data.mean, releases[name].config.data.std),
        );
      }
    }
  });

  afterAll(async () => {
    for (const name of BACKBONES) {
      await encoders[name]?.release();
      await releases[name]?.weights.close();
    }
    await expected?.close();
  });

  const want = async (key: string) => (await expected.read(key)).data as Float32Array;
  const relDiff = (got: Float32Array, ref: Float32Array) => maxAbsDiff(got, ref) / maxAbs(ref);

  it("runs the towers without onnxruntime's memory arena (each encode's activations are freed after it)", () => {
    expect(recorded.created.map((o) => o.enableCpuMemArena)).toEqual(BACKBONES.map(() => false));
  });

  it("reads the configs as the oracle built the models", () => {
    expect(IMAGES.length, "the set stores pixels for at least one image").toBeGreaterThan(0);
    for (const name of BACKBONES) expect(releases[name].format, name).toBe(vitReleaseFormat(name));
    const declared = manifest().siglip_format;
    if (declared)
      expect(releases.siglip.format).toBe(declared.startsWith("open_clip") ? "open_clip" : "timm");
    for (const name of BACKBONES) {
      if (releases[name].format !== "open_clip") continue;
      // open_clip's text tower and logit keys sit beside visual.trunk.* and are ignored.
      const other = releases[name].weights.keys().filter((k) => !k.startsWith("visual.trunk."));
      expect(other.length, `${name}: open_clip keys besides visual.trunk.*`).toBeGreaterThan(0);
      expect(other.filter((k) => !/^(text\.|logit_scale$|logit_bias$)/.test(k))).toEqual([]);
    }
    for (const name of BACKBONES)
      expect(encoders[name].inputs[0], name).toMatchObject({
        name,
        imageSize: size,
        mean: normalization(name).mean,
        std: normalization(name).std,
      });
    const { dims: declaredDims } = manifest();
    expect([encoders.dino.numPatches, encoders.dino.featureDim, encoders.siglip.featureDim]).toEqual([
      declaredDims.num_patches,
      declaredDims.dino.embed_dim,
      declaredDims.siglip.embed_dim,
    ]);
    expect(encoders.siglip.numPatches).toBe(declaredDims.num_patches);
    for (const name of BACKBONES)
      expect([encoders[name].numPatches, encoders[name].featureDim], name).toEqual(dims[name]);
  });

  for (const image of IMAGES)
    for (const name of BACKBONES)
      it(`features/${image}/${name}`, async () => {
        const got = await encoders[name].encode([pixels.get(`${image}/${name}`)!]);
        expect(got.shape).toEqual([1, ...dims[name]]);
        const ref = await want(`features/${image}/${name}`);
        const rel = relDiff(got.data, ref);
        console.log(
          `features/${image}/${name}: max abs ${maxAbsDiff(got.data, ref).toExponential(3)}, max |ref| ${maxAbs(ref).toFixed(3)}, rel ${rel.toExponential(3)}`,
        );
        expect(rel).toBeLessThan(REL_TOL);
      });

  it("fused = cat(dino, siglip) on the feature axis", async () => {
    const fused = new FusedEncoder([encoders.dino, encoders.siglip]);
    const [patches, a] = dims.dino;
    const b = dims.siglip[1];
    expect(fused.inputs.map((s) => s.name)).toEqual(["dino", "siglip"]);
    expect(fused.featureDim).toBe(a + b);
    expect(fused.featureDim).toBe(manifest().dims.fused_dim);
    for (const image of IMAGES) {
      const got = await fused.encode([pixels.get(`${image}/dino`)!, pixels.get(`${image}/siglip`)!]);
      expect(got.shape).toEqual([1, patches, a + b]);
      const parts: EncodedFeatures[] = [
        f32([1, patches, a], await want(`features/${image}/dino`)),
        f32([1, patches, b], await want(`features/${image}/siglip`)),
      ];
      const ref = concatFeatures(parts).data;
      const rel = relDiff(got.data, ref);
      console.log(`fused ${image}: rel ${rel.toExponential(3)}`);
      expect(rel).toBeLessThan(REL_TOL);
      expect(Array.from(ref.subarray(a, a + b))).toEqual(Array.from(parts[1].data.subarray(0, b)));
    }
  });

  it("a batch of 2 gives the features of two single runs", async () => {
    // Two different images where the set has pixels for two; else the one image twice.
    const [first, second] = [IMAGES[0], IMAGES[1] ?? IMAGES[0]];
    for (const name of BACKBONES) {
      const a = pixels.get(`${first}/${name}`)!;
      const b = pixels.get(`${second}/${name}`)!;
      const batch = new Float32Array(a.length * 2);
      batch.set(a);
      batch.set(b, a.length);
      const both = await encoders[name].encode([batch]);
      expect(both.shape[0]).toBe(2);
      const singles = [(await encoders[name].encode([a])).data, (await encoders[name].encode([b])).data];
      const half = both.data.length / 2;
      const diff = Math.max(
        maxAbsDiff(both.data.subarray(0, half), singles[0]),
        maxAbsDiff(both.data.subarray(half), singles[1]),
      );
      console.log(`${name} batch-2 (${first}, ${second}) vs singles: max abs ${diff.toExponential(3)}`);
      expect(diff).toBeLessThan(1e-5);
    }
  });

  it("refuses a model that is not a ViT encoder graph", async () => {
    const g = new GraphBuilder("not-vit");
    g.output(g.op("Identity", [g.input("x", "float32", [1])]), "float32", [1], "y");
    await expect(VitEncoder.create(serializeModel(g), releases.dino.config, "dino")).rejects.toThrow(
      ModelFormatError,
    );
  });

  it("refuses pixels that are not whole 3 x size x size images", async () => {
    await expect(encoders.dino.encode([new Float32Array(10)])).rejects.toThrow(
      `not a whole number of 3x${size}x${size} images`,
    );
    await expect(encoders.dino.encode([])).rejects.toThrow(/takes 1 pixel tensor/);
  });

  describe("external data", () => {
    let dir = "";
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("writeVitModel streams weights to <name>.data and loads to the same features", async () => {
      dir = await mkdtemp(join(tmpdir(), "cobra-vit-"));
      const written = await writeVitModel(
        dir,
        "siglip.onnx",
        releases.siglip.config,
        releases.siglip.weights,
      );
      expect(written.dataFiles).toEqual(["siglip.onnx.data"]);
      expect((await readdir(dir)).sort()).toEqual(["siglip.onnx", "siglip.onnx.data"]);
      const fromDisk = await VitEncoder.create(written.model, releases.siglip.config, "siglip", {
        threads: 2,
      });
      try {
        const px = pixels.get(`${IMAGES[0]}/siglip`)!;
        const got = await fromDisk.encode([px]);
        const inline = await encoders.siglip.encode([px]);
        expect(maxAbsDiff(got.data, inline.data)).toBe(0);
      } finally {
        await fromDisk.release();
      }
    });

    it("leaves no files behind when a tensor cannot be read half-way", async () => {
      const failDir = await mkdtemp(join(dir, "fail-"));
      const source = releases.dino.weights;
      const failing = {
        ...source,
        keys: () => source.keys(),
        has: (k: string) => source.has(k),
        info: (k: string) => source.info(k),
      };
      // A block half-way down the trunk (its keys are prefixed in an open_clip release).
      const fc1 = source
        .keys()
        .filter((k) => k.endsWith(".mlp.fc1.weight") && !k.startsWith("attn_pool"))
        .sort();
      const broken = fc1[Math.floor(fc1.length / 2)];
      failing.read = async (key: string) => {
        if (key === broken) throw new Error("disk went away");
        return source.read(key);
      };
      await expect(writeVitModel(failDir, "dino.onnx", releases.dino.config, failing)).rejects.toThrow(
        /disk went away/,
      );
      expect(await readdir(failDir)).toEqual([]);
    });
  });
});
