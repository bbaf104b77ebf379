import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { f32 } from "@cobra-ts/core";
import { openWeights, ortFor, SafetensorsFile, type WeightSource, withPrefix } from "@cobra-ts/core/node";
import { fixtureSet, recordingOrt } from "@cobra-ts/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxProjector, type ProjectorSpec, projectorSpecFromArchSpecifier } from "../src/index.js";
import { fusedFeatures } from "./fixture-features.js";
import { concatFloat32, maxAbsDiff } from "./memory-weights.js";
import { referenceProject } from "./reference-projector.js";

const FIXTURE = fixtureSet();
/** Every image the fixture set has projected rows for. */
const IMAGES: string[] = JSON.parse(readFileSync(join(FIXTURE, "expected/manifest.json"), "utf8")).images.map(
  (i: { name: string }) => i.name,
);
const TOL = 1e-5;

describe("cobra-tiny: projected/<image> from features/<image>/{dino,siglip}", () => {
  let checkpoint: WeightSource;
  let expected: SafetensorsFile;
  let projector: OnnxProjector;
  let spec: ProjectorSpec;
  /** The session the oracle's projector runs in: its options are checked below. */
  let recorded: ReturnType<typeof recordingOrt>;

  beforeAll(async () => {
    recorded = recordingOrt(await ortFor({ backend: "cpu" }));
    const config = JSON.parse(await readFile(join(FIXTURE, "release/cobra/config.json"), "utf8"));
    spec = projectorSpecFromArchSpecifier(config.model.arch_specifier);
    checkpoint = await openWeights(join(FIXTURE, "release/cobra/checkpoints/latest-checkpoint.pt"));
    expected = await SafetensorsFile.open(join(FIXTURE, "expected/tensors.safetensors"));
    projector = await OnnxProjector.fromWeights(
      spec.variant,
      withPrefix(checkpoint, "model.projector."),
      undefined,
      {
        ort: recorded.ort,
      },
    );
  });

  afterAll(async () => {
    await projector?.release();
    await checkpoint?.close();
    await expected?.close();
  });

  it("runs without onnxruntime's memory arena (each image's activations are freed after it)", () => {
    expect(recorded.created.map((o) => o.enableCpuMemArena)).toEqual([false]);
  });

  it("the config's variant fits the checkpoint's projector keys and the fixture's dims", () => {
    if (spec.variant === "fused-gelu-mlp")
      expect(withPrefix(checkpoint, "model.projector.").keys().sort()).toEqual(
        ["0", "2", "4"].flatMap((i) => [`projector.${i}.bias`, `projector.${i}.weight`]),
      );
    const [, patches, dino] = expected.info(`features/${IMAGES[0]}/dino`).shape;
    const siglip = expected.info(`features/${IMAGES[0]}/siglip`).shape[2];
    const [, tokens, llm] = expected.info(`projected/${IMAGES[0]}`).shape;
    expect([projector.visionDim, projector.outputTokens, projector.llmDim]).toEqual([
      dino + siglip,
      tokens,
      llm,
    ]);
    expect(projector.numPatches).toBe(patches);
  });

  it.each(IMAGES)("%s within 1e-5", async (image) => {
    const features = await fusedFeatures(expected, image);
    const out = await projector.project(f32([1, projector.numPatches, projector.visionDim], features));
    const want = (await expected.read(`projected/${image}`)).data as Float32Array;
    const diff = maxAbsDiff(out.data, want);
    console.log(
      `[projector] cobra-tiny ${image}: ONNX vs projected/${image}, max abs diff ${diff.toExponential(2)}`,
    );
    expect(diff).toBeLessThanOrEqual(TOL);
  });

  it("all images as one batch, and the TS reference, agree too", async () => {
    const batch = concatFloat32(await Promise.all(IMAGES.map((i) => fusedFeatures(expected, i))));
    const wantAll = concatFloat32(
      await Promise.all(
        IMAGES.map(async (i) => (await expected.read(`projected/${i}`)).data as Float32Array),
      ),
    );

    const out = await projector.project(
      f32([IMAGES.length, projector.numPatches, projector.visionDim], batch),
    );
    expect(out.shape).toEqual([IMAGES.length, projector.outputTokens, projector.llmDim]);
    const onnxDiff = maxAbsDiff(out.data, wantAll);

    const weights = withPrefix(checkpoint, "model.projector.");
    const plain = Object.fromEntries(
      await Promise.all(weights.keys().map(async (k) => [k, (await weights.read(k)).data as Float32Array])),
    );
    const refDiff = maxAbsDiff(
      referenceProject(spec.variant, plain, batch, IMAGES.length, projector.numPatches),
      wantAll,
    );
    console.log(
      `[projector] batch of ${IMAGES.length}: ONNX max abs diff ${onnxDiff.toExponential(2)}, TS reference ${refDiff.toExponential(2)}`,
    );
    expect(onnxDiff).toBeLessThanOrEqual(TOL);
    expect(refDiff).toBeLessThanOrEqual(TOL);
  });
});
