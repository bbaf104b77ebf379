// Prefills of requests that wait together run as batched calls (image rows with image rows, prompts with
// prompts), and each answer still equals its answer alone.
import { readFileSync } from "node:fs";
import type { LanguageModel } from "@cobra-ts/core";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cobra } from "../src/runtime/load-node.js";
import type { ServedModel } from "../src/serve/server.js";
import { CASES, caseRequest, imagePath } from "./fixture.js";
import { caseMessages, convertedTinyModel, metric, startServer } from "./serve-fixture.js";

let cobra: Cobra;
let cleanup: () => Promise<void>;
/** Every lm.prefill call the server made: its batch and what it ran. */
const prefills: { batch: number; positions: number; kind: "rows" | "ids" }[] = [];
/** Requests the server has read, and how many the first prefill waits for (so they all queue behind it). */
let arrived = 0;
let waitFor = 0;

/**
 * The loaded model, its prefills recorded and its vision pass answered from passes run before the test (the
 * same numbers), so every image is ready at once and the prefills' order does not hang on the vision's time.
 */
function recording(encoded: Map<string, Awaited<ReturnType<Cobra["encodeImage"]>>>): ServedModel {
  const lm = cobra.parts.lm;
  const spy: LanguageModel = Object.create(lm);
  spy.prefill = async (input, state, options) => {
    while (arrived < waitFor) await new Promise((r) => setTimeout(r, 5));
    const rows = input.prefixEmbeds?.shape;
    const ids = input.ids as readonly (readonly number[])[] | undefined;
    prefills.push(
      rows
        ? { batch: rows[0], positions: rows[1], kind: "rows" }
        : { batch: ids!.length, positions: ids![0].length, kind: "ids" },
    );
    return lm.prefill(input, state, options);
  };
  // MambaLM's step is a one-position prefill: on the model itself, so the steps are not recorded as prefills.
  spy.step = (ids, state, options) => lm.step(ids, state, options);
  return {
    parts: { ...cobra.parts, lm: spy },
    settings: cobra.settings,
    encodeImage: async (bytes, signal) =>
      encoded.get(Buffer.from(bytes).toString("base64")) ?? cobra.encodeImage(bytes, signal),
    promptString: (request) => {
      arrived++;
      return cobra.promptString(request);
    },
  };
}

async function encodeAll(images: string[]) {
  const encoded = new Map<string, Awaited<ReturnType<Cobra["encodeImage"]>>>();
  for (const image of images) {
    const bytes = readFileSync(imagePath(image));
    encoded.set(bytes.toString("base64"), await cobra.encodeImage(bytes));
  }
  return encoded;
}

beforeAll(async () => {
  ({ cobra, cleanup } = await convertedTinyModel());
});
afterAll(() => cleanup?.());

const text = (r: OpenAI.Chat.ChatCompletion) => r.choices[0].message.content;

describe("prefills of requests that wait together", () => {
  it("run image rows of several requests in one call, in chunks, and answer each as alone", async () => {
    const cases = CASES.slice(0, 4);
    const encoded = await encodeAll(cases.map((c) => c.image));
    const patches = [...encoded.values()][0].projected.shape[1];
    const chunk = 8;
    expect(patches).toBeGreaterThan(3 * chunk); // several chunks per image, so the images overlap
    const served = await startServer(cobra, { prefillChunk: chunk }, recording(encoded));
    try {
      const alone = [];
      for (const c of cases) alone.push((await cobra.generate({ ...caseRequest(c), maxNewTokens: 16 })).text);
      prefills.length = 0;
      [arrived, waitFor] = [0, cases.length];
      const answers = await Promise.all(
        cases.map((c) =>
          served.client.chat.completions.create({ model: "m", messages: caseMessages(c), max_tokens: 16 }),
        ),
      );
      expect(answers.map(text)).toEqual(alone);
      const rowCalls = prefills.filter((p) => p.kind === "rows");
      expect(Math.max(...rowCalls.map((p) => p.batch))).toBeGreaterThanOrEqual(2);
      // No call ran more than the chunk's positions in all.
      expect(Math.max(...prefills.map((p) => p.batch * p.positions))).toBeLessThanOrEqual(chunk);
      // Every image row ran exactly once: batched calls, not repeated work.
      const rowsRun = rowCalls.reduce((n, p) => n + p.batch * p.positions, 0);
      expect(rowsRun).toBe(cases.length * patches);
      expect(rowCalls.length).toBeLessThan(cases.length * Math.ceil(patches / chunk));
    } finally {
      await served.close();
    }
  });

  it("run the prompts of questions about a cached image in one call", async () => {
    const c = CASES[0];
    const served = await startServer(cobra, {}, recording(await encodeAll([c.image])));
    try {
      waitFor = 0;
      await served.client.chat.completions.create({ model: "m", messages: caseMessages(c), max_tokens: 2 });
      const questions = [c, c, CASES[1], CASES[1], CASES[5]].map((q) => q.turns[0].message);
      const alone = [];
      for (const q of questions)
        alone.push(
          (
            await cobra.generate({
              ...caseRequest(c),
              messages: [{ role: "user", content: q }],
              maxNewTokens: 12,
            })
          ).text,
        );
      prefills.length = 0;
      [arrived, waitFor] = [0, questions.length];
      const image = (caseMessages(c)[0].content as OpenAI.Chat.ChatCompletionContentPart[])[0];
      const answers = await Promise.all(
        questions.map((q) =>
          served.client.chat.completions.create({
            model: "m",
            messages: [{ role: "user", content: [image, { type: "text", text: q }] }],
            max_tokens: 12,
          }),
        ),
      );
      expect(answers.map(text)).toEqual(alone);
      expect(await metric(served.url, 'cobra_state_cache_lookups_total{result="hit"}')).toBe(5);
      expect(prefills.every((p) => p.kind === "ids")).toBe(true);
      // The two questions asked twice at least ran together; fewer calls than questions.
      expect(Math.max(...prefills.map((p) => p.batch))).toBeGreaterThanOrEqual(2);
      expect(prefills.length).toBeLessThan(questions.length);
    } finally {
      await served.close();
    }
  });
});
