import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SafetensorsFile } from "@cobra-ts/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import {
  CASES,
  captureIO,
  EXPECTED_TENSORS,
  type FixtureCase,
  IMAGE_NAMES,
  imagePath,
  maxAbsDiff,
  RELEASE_SOURCES,
} from "./fixture.js";

let work = "";
let model = "";
let expected: SafetensorsFile;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-e2e-"));
  model = join(work, "cobra-tiny");
  const result = await convertRelease(RELEASE_SOURCES, { out: model });
  expect(result.converted).toBe(true);
  expected = await SafetensorsFile.open(EXPECTED_TENSORS);
});

afterAll(async () => {
  await expected?.close();
  await rm(work, { recursive: true, force: true });
});

/** The fixture's reference for the first decode step: full prefill logits where stored, else the step_top5. */
async function expectPrefillTop(c: FixtureCase, top: [number, number][]): Promise<number> {
  const key = `logits/${c.id}/prefill`;
  const ids = top.map(([id]) => id);
  expect(ids).toEqual(c.step_top5[0].ids);
  let diff = maxAbsDiff(
    top.map(([, l]) => l),
    c.step_top5[0].logits,
  );
  if (expected.has(key)) {
    const full = (await expected.read(key)).data as Float32Array;
    diff = Math.max(
      diff,
      maxAbsDiff(
        top.map(([, l]) => l),
        ids.map((id) => full[id]),
      ),
    );
  }
  expect(diff).toBeLessThanOrEqual(1e-4);
  return diff;
}

async function cliGenerate(
  c: FixtureCase,
): Promise<{ text: string; ids: number[]; prompt_ids: number[]; prefill_logits_top: [number, number][] }> {
  const io = captureIO();
  const prompt =
    c.turns.length === 1
      ? ["--prompt", c.user_message]
      : [
          "--messages",
          await writeJson(
            `${c.id}.json`,
            c.turns.map((t) => ({ role: t.role === "human" ? "user" : "assistant", content: t.message })),
          ),
        ];
  const code = await runCli(
    [
      "generate",
      "--model",
      model,
      "--image",
      imagePath(c.image),
      ...prompt,
      "--max-new-tokens",
      String(c.max_new_tokens),
      "--json",
    ],
    io,
  );
  expect(io.err).toBe("");
  expect(code).toBe(0);
  return JSON.parse(io.out);
}

describe("cobra generate (streamed text) on every fixture case", () => {
  for (const c of CASES)
    it(`${c.id}: prints exactly the answer's text and a newline`, async () => {
      const io = captureIO();
      const messages = await writeJson(
        `${c.id}-stream.json`,
        c.turns.map((t) => ({ role: t.role === "human" ? "user" : "assistant", content: t.message })),
      );
      const argv = ["generate", "--model", model, "--image", imagePath(c.image), "--messages", messages];
      expect(await runCli([...argv, "--max-new-tokens", String(c.max_new_tokens)], io)).toBe(0);
      expect(io.out).toBe(`${c.greedy_text}\n`);
    });
});

async function writeJson(name: string, value: unknown): Promise<string> {
  const path = join(work, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

describe("cobra generate --json on every fixture case", () => {
  const figures: Record<string, number> = {};
  afterAll(() => console.log("prefill logits max abs diff per case:", figures));

  for (const c of CASES)
    it(`${c.id}: greedy ids and text exactly, prefill logits within 1e-4`, async () => {
      const out = await cliGenerate(c);
      expect(out.prompt_ids).toEqual(c.input_ids);
      expect(out.ids).toEqual(c.greedy_ids);
      expect(out.text).toBe(c.greedy_text);
      figures[c.id] = await expectPrefillTop(c, out.prefill_logits_top);
    });
});

describe("cobra features", () => {
  const images = IMAGE_NAMES;
  for (const name of images)
    it(`${name}: features, fused and projected match the oracle`, async () => {
      const out = join(work, `${name}.safetensors`);
      const io = captureIO();
      expect(await runCli(["features", "--model", model, "--image", imagePath(name), "--out", out], io)).toBe(
        0,
      );
      const got = await SafetensorsFile.open(out);
      try {
        const rel = async (key: string, ours: string) => {
          const want = (await expected.read(key)).data as Float32Array;
          const have = (await got.read(ours)).data as Float32Array;
          const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          return maxAbsDiff(have, want) / scale;
        };
        expect(await rel(`features/${name}/dino`, "features/dino")).toBeLessThanOrEqual(1e-4);
        expect(await rel(`features/${name}/siglip`, "features/siglip")).toBeLessThanOrEqual(1e-4);
        const fused = (await got.read("features/fused")).data as Float32Array;
        const dino = (await expected.read(`features/${name}/dino`)).data as Float32Array;
        const siglip = (await expected.read(`features/${name}/siglip`)).data as Float32Array;
        // The fused features are cat(dino, siglip) on the feature axis, whatever the dims of this fixture set.
        const [, patches, dDino] = expected.info(`features/${name}/dino`).shape;
        const dSiglip = expected.info(`features/${name}/siglip`).shape[2];
        const cat = new Float32Array(fused.length);
        for (let p = 0; p < patches; p++) {
          cat.set(dino.subarray(p * dDino, (p + 1) * dDino), p * (dDino + dSiglip));
          cat.set(siglip.subarray(p * dSiglip, (p + 1) * dSiglip), p * (dDino + dSiglip) + dDino);
        }
        expect(maxAbsDiff(fused, cat)).toBeLessThanOrEqual(1e-4);
        expect(
          maxAbsDiff(
            (await got.read("projected")).data as Float32Array,
            (await expected.read(`projected/${name}`)).data as Float32Array,
          ),
        ).toBeLessThanOrEqual(1e-4);
        for (const enc of ["dino", "siglip"])
          expect(got.info(`pixels/${enc}`).shape).toEqual([1, 3, 384, 384]);
      } finally {
        await got.close();
      }
    });

  it("normalized pixels are (u8/255 - mean)/std of the oracle's uint8 pixels, for every image that has them", async () => {
    const manifest = JSON.parse(await readFile(join(model, "cobra.json"), "utf8"));
    let compared = 0;
    for (const name of IMAGE_NAMES) {
      const out = join(work, `${name}-pixels.safetensors`);
      expect(
        await runCli(["features", "--model", model, "--image", imagePath(name), "--out", out], captureIO()),
      ).toBe(0);
      const got = await SafetensorsFile.open(out);
      try {
        for (const enc of manifest.parts.encoder.config.towers) {
          const key = `pixels/${name}/${enc.name}`;
          if (!expected.has(key)) continue;
          const { mean, std } = enc.vit.data;
          const u8 = (await expected.read(key)).data as Uint8Array;
          const plane = u8.length / 3;
          const want = Float32Array.from(u8, (v, i) => {
            const c = Math.floor(i / plane);
            return Math.fround(
              Math.fround(Math.fround(v / 255) - Math.fround(mean[c])) / Math.fround(std[c]),
            );
          });
          expect(maxAbsDiff((await got.read(`pixels/${enc.name}`)).data as Float32Array, want)).toBe(0);
          compared++;
        }
      } finally {
        await got.close();
      }
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe("Node API", () => {
  let cobra: Cobra;
  beforeAll(async () => {
    cobra = await Cobra.load(model);
  });
  afterAll(() => cobra.release());

  const single = CASES.filter((c) => c.turns.length === 1);

  it("generate() returns the greedy ids and text of every case", async () => {
    for (const c of CASES) {
      const r = await cobra.generate({
        image: imagePath(c.image),
        messages: c.turns.map((t) => ({ role: t.role, content: t.message })),
        maxNewTokens: c.max_new_tokens,
      });
      expect(r.ids).toEqual(c.greedy_ids);
      expect(r.text).toBe(c.greedy_text);
    }
  });

  it.each(CASES.map((c) => [c.id, c] as const))(
    "%s: stream() yields deltas that add up to exactly the result's text, and returns the result",
    async (_id, c) => {
      const it = cobra.stream({
        image: imagePath(c.image),
        messages: c.turns.map((t) => ({ role: t.role, content: t.message })),
        maxNewTokens: c.max_new_tokens,
      });
      const tokens: number[] = [];
      let text = "";
      let next = await it.next();
      while (!next.done) {
        tokens.push(next.value.token);
        text += next.value.text;
        next = await it.next();
      }
      expect(tokens).toEqual(c.greedy_ids);
      expect(text).toBe(c.greedy_text);
      expect(next.value.text).toBe(c.greedy_text);
      expect(next.value.ids).toEqual(c.greedy_ids);
    },
  );

  it("askStream() deltas add up to exactly each answer's text, first turn and continued turn", async () => {
    const c = single[0];
    const session = await cobra.look(imagePath(c.image));
    for (const question of [c.user_message, "And what else?"]) {
      const it = session.askStream(question, { maxNewTokens: c.max_new_tokens });
      let text = "";
      let next = await it.next();
      while (!next.done) {
        text += next.value.text;
        next = await it.next();
      }
      expect(text).toBe(next.value.text);
      if (question === c.user_message) expect(text).toBe(c.greedy_text);
    }
  });

  it("look()/ask(): one vision pass serves many questions with the same answers", async () => {
    const byImage = new Map<string, FixtureCase[]>();
    for (const c of single) byImage.set(c.image, [...(byImage.get(c.image) ?? []), c]);
    for (const c of single) {
      const session = await cobra.look(imagePath(c.image));
      const r = await session.ask(c.user_message, { maxNewTokens: c.max_new_tokens });
      expect(r.ids).toEqual(c.greedy_ids);
      expect(r.text).toBe(c.greedy_text);
      expect(r.promptIds).toEqual(c.input_ids);
    }
  });

  it("a second turn continued from the kept state equals re-running the whole chat", async () => {
    const c = single[0];
    const session = await cobra.look(imagePath(c.image));
    const first = await session.ask(c.user_message, { maxNewTokens: 6 });
    const second = await session.ask("And what else?", { maxNewTokens: 8 });
    const direct = await cobra.generate({
      image: imagePath(c.image),
      messages: [
        { role: "user", content: c.user_message },
        { role: "assistant", content: first.text },
        { role: "user", content: "And what else?" },
      ],
      maxNewTokens: 8,
    });
    expect(second.promptIds).toEqual(direct.promptIds);
    expect(second.ids).toEqual(direct.ids);
    expect(session.history.map((h) => h.role)).toEqual(["user", "assistant", "user", "assistant"]);
  });

  it("an AbortSignal stops generation with AbortError", async () => {
    const c = single[0];
    const controller = new AbortController();
    const it = cobra.stream({
      image: imagePath(c.image),
      prompt: c.user_message,
      maxNewTokens: 20,
      signal: controller.signal,
    });
    await it.next();
    controller.abort();
    await expect(it.next()).rejects.toThrow(/abort/i);
  });
});
