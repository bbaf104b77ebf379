// The composer takes any implementation of each contract: a plain-TS language model, objects that only forward
// to loaded parts, and a SigLIP-only encoder + a linear projector + another Mamba.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Cancellable,
  type FloatTensor,
  type LanguageModel,
  type LanguageModelInput,
  type LanguageModelState,
  MemoryWeights,
  type Projector,
  type RgbImage,
  type Tokenizer,
  type VisionEncoder,
  withPrefix,
} from "@cobra-ts/core";
import { openWeights } from "@cobra-ts/core/node";
import { pseudoRandom } from "@cobra-ts/core/testing";
import { buildLanguageModel, MambaLM, parseMambaConfig, resolveMambaConfig } from "@cobra-ts/mamba-lm";
import { ReferenceLanguageModel, syntheticMambaSource } from "@cobra-ts/mamba-lm/testing";
import { OnnxProjector } from "@cobra-ts/projector";
import { ImageEncoder, openVitRelease, VitEncoder } from "@cobra-ts/vision-encoder/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import { CASES, imagePath, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let cobra: Cobra;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-swap-"));
  await convertRelease(RELEASE_SOURCES, { out: join(work, "model") });
  cobra = await Cobra.load(join(work, "model"));
});
afterAll(async () => {
  await cobra?.release();
  await rm(work, { recursive: true, force: true });
});

const request = (c: (typeof CASES)[number]) => ({
  image: imagePath(c.image),
  messages: c.turns.map((t) => ({ role: t.role, content: t.message })),
  maxNewTokens: c.max_new_tokens,
});

describe("Cobra.fromParts", () => {
  it("(a) a plain-TS float64 LanguageModel gives the oracle's greedy text on every case", async () => {
    const config = parseMambaConfig(
      JSON.parse(await readFile(join(RELEASE_SOURCES.llm, "config.json"), "utf8")),
    );
    const checkpoint = await openWeights(
      join(RELEASE_SOURCES.checkpoint, "checkpoints/latest-checkpoint.pt"),
    );
    const lm = await ReferenceLanguageModel.load(withPrefix(checkpoint, "model.llm_backbone."), config);
    await checkpoint.close();
    expect(lm).not.toBeInstanceOf(MambaLM);
    const swapped = Cobra.fromParts({ ...cobra.parts, lm }, cobra.settings);
    for (const c of CASES) {
      const r = await swapped.generate(request(c));
      expect(r.ids, c.id).toEqual(c.greedy_ids);
      expect(r.text, c.id).toBe(c.greedy_text);
    }
  });

  it("(b) objects that only forward to the loaded parts work in every slot", async () => {
    const { encoder, projector, lm, tokenizer } = cobra.parts;
    // Plain object literals: no class, no private fields, nothing but the contract's members.
    const forwardingEncoder: VisionEncoder = {
      numPatches: encoder.numPatches,
      featureDim: encoder.featureDim,
      encode: (image: RgbImage, options?: Cancellable) => encoder.encode(image, options),
    };
    const forwardingProjector: Projector = {
      project: (features: FloatTensor, options?: Cancellable) => projector.project(features, options),
    };
    const forwardingLm: LanguageModel = {
      vocabSize: lm.vocabSize,
      dModel: lm.dModel,
      prefill: (input: LanguageModelInput, state?: LanguageModelState, options?: Cancellable) =>
        lm.prefill(input, state, options),
      step: (ids, state, options) => lm.step(ids, state, options),
      newState: (batch) => lm.newState(batch),
      restoreState: (bytes) => lm.restoreState(bytes),
      stackStates: (states) => lm.stackStates(states),
      selectRows: (state, rows) => lm.selectRows(state, rows),
    };
    // No stream decoder of its own: generation falls back to decode-based streaming.
    const forwardingTokenizer: Tokenizer = {
      eosTokenId: tokenizer.eosTokenId,
      encode: (text) => tokenizer.encode(text),
      decode: (ids, options) => tokenizer.decode(ids, options),
    };
    const parts = {
      encoder: forwardingEncoder,
      projector: forwardingProjector,
      lm: forwardingLm,
      tokenizer: forwardingTokenizer,
    };
    for (const slot of ["encoder", "projector", "lm", "tokenizer"] as const) {
      const one = Cobra.fromParts({ ...cobra.parts, [slot]: parts[slot] }, cobra.settings);
      for (const c of CASES) {
        const r = await one.generate(request(c));
        expect(r.ids, `${slot} ${c.id}`).toEqual(c.greedy_ids);
        expect(r.text, `${slot} ${c.id}`).toBe(c.greedy_text);
      }
    }
    const all = Cobra.fromParts(parts, cobra.settings);
    const c = CASES[0];
    let streamed = "";
    const it = all.stream(request(c));
    for (let next = await it.next(); ; next = await it.next()) {
      if (next.done) {
        expect(next.value.text).toBe(c.greedy_text);
        break;
      }
      streamed += next.value.text;
    }
    expect(streamed.trim()).toBe(c.greedy_text);
  });

  it("(c) a SigLIP-only encoder, a linear projector and another Mamba compose and run", async () => {
    const { imageSize } = (cobra.parts.encoder as ImageEncoder).preprocessing;
    expect(imageSize).toBe(384);
    const release = await openVitRelease(RELEASE_SOURCES.siglip, { imageSize });
    const siglip = await VitEncoder.fromWeights(release.config, release.weights, "siglip");
    await release.weights.close();
    const encoder = new ImageEncoder(siglip, { strategy: "letterbox", imageSize });

    // Another Mamba: other widths, the same vocabulary as the tokenizer.
    const vocabSize = cobra.parts.lm.vocabSize;
    const lmConfig = resolveMambaConfig({ dModel: 24, nLayer: 2, vocabSize, dState: 8 });
    const lm = await MambaLM.load({
      model: (await buildLanguageModel(syntheticMambaSource(lmConfig, { seed: 5 }), lmConfig)).model,
    });
    const visionDim = siglip.featureDim;
    const projector = await OnnxProjector.fromWeights(
      "linear",
      new MemoryWeights({
        "projector.weight": { shape: [24, visionDim], data: pseudoRandom(24 * visionDim, 3, 0.2) },
        "projector.bias": { shape: [24], data: pseudoRandom(24, 4, 0.1) },
      }),
    );
    const ablation = Cobra.fromParts({ encoder, projector, lm, tokenizer: cobra.parts.tokenizer });
    try {
      const encoded = await ablation.encodeImage(imagePath(CASES[0].image));
      expect(encoded.features.shape).toEqual([1, siglip.numPatches, visionDim]);
      expect(encoded.towers).toEqual([]);
      expect(encoded.projected.shape).toEqual([1, siglip.numPatches, 24]);
      const r = await ablation.generate({
        image: imagePath(CASES[0].image),
        prompt: "What is it?",
        maxNewTokens: 5,
      });
      expect(r.ids.length).toBeGreaterThan(0);
      expect(r.ids.every((id) => id >= 0 && id < lmConfig.vocabSizePadded)).toBe(true);
      // The same answer again: the parts hold no hidden state between requests.
      const again = await ablation.generate({
        image: imagePath(CASES[0].image),
        prompt: "What is it?",
        maxNewTokens: 5,
      });
      expect(again.ids).toEqual(r.ids);
    } finally {
      await ablation.release();
    }
  });

  it("refuses a missing part with a typed error", () => {
    const { encoder, projector, tokenizer } = cobra.parts;
    expect(() => Cobra.fromParts({ encoder, projector, tokenizer } as never)).toThrow(/needs a lm part/);
  });

  it("a loaded model exposes its parts and settings", () => {
    expect(Object.keys(cobra.parts).sort()).toEqual(["encoder", "lm", "projector", "tokenizer"]);
    expect(cobra.settings).toEqual(cobra.manifest!.settings);
    expect(cobra.settings).toEqual({ llmBackboneId: "mamba-2.8b-zephyr", maxPromptLength: 2048 });
  });
});
