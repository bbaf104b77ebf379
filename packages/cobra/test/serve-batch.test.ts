// Continuous batching: concurrent requests share decode steps, each answer equals its answer alone, and a
// client that goes away frees its slot at once.
import type { LanguageModel } from "@cobra-ts/core";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cobra } from "../src/runtime/load-node.js";
import type { ServedModel } from "../src/serve/server.js";
import { CASES, caseRequest } from "./fixture.js";
import { caseMessages, convertedTinyModel, metric, startServer } from "./serve-fixture.js";

let cobra: Cobra;
let cleanup: () => Promise<void>;
/** The ids count of every lm.step call the server made. */
const stepBatches: number[] = [];

/** The loaded model with its LM wrapped to record each step's batch (the numbers are the LM's own). */
function recording(): ServedModel {
  const lm = cobra.parts.lm;
  const spy: LanguageModel = Object.create(lm);
  spy.step = (ids, state, options) => {
    stepBatches.push(typeof ids === "number" ? 1 : ids.length);
    return lm.step(ids, state, options);
  };
  return {
    parts: { ...cobra.parts, lm: spy },
    settings: cobra.settings,
    encodeImage: (image, signal) => cobra.encodeImage(image, signal),
    promptString: (request) => cobra.promptString(request),
  };
}

beforeAll(async () => {
  ({ cobra, cleanup } = await convertedTinyModel());
});
afterAll(() => cleanup?.());

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("8 clients at once", () => {
  it("each answer (greedy or seeded) equals its answer alone, and decode steps are batched", async () => {
    const served = await startServer(cobra, {}, recording());
    try {
      const requests = [...CASES, CASES[0], CASES[3]].map((c, i) => ({
        c,
        stream: i % 2 === 0,
        sampling: i >= 6 ? { temperature: 0.7, top_p: 0.95, seed: 100 + i } : undefined,
        // Top-p sorts the whole vocabulary each token (slow alone and batched alike): fewer tokens there.
        maxTokens: i >= 6 ? 30 : 60 + 10 * i,
      }));
      const alone = [];
      for (const r of requests)
        alone.push(
          (
            await cobra.generate({
              ...caseRequest(r.c),
              maxNewTokens: r.maxTokens,
              ...(r.sampling
                ? {
                    doSample: true,
                    topK: 0,
                    temperature: r.sampling.temperature,
                    topP: r.sampling.top_p,
                    seed: r.sampling.seed,
                  }
                : {}),
            })
          ).text,
        );
      stepBatches.length = 0;
      const answers = await Promise.all(
        requests.map(async (r) => {
          const body = {
            model: "m",
            messages: caseMessages(r.c),
            max_tokens: r.maxTokens,
            ...(r.sampling ?? {}),
          };
          if (!r.stream)
            return (await served.client.chat.completions.create(body)).choices[0].message.content;
          let text = "";
          for await (const chunk of await served.client.chat.completions.create({ ...body, stream: true }))
            text += chunk.choices[0]?.delta.content ?? "";
          return text;
        }),
      );
      expect(answers).toEqual(alone);
      // Sequences decoded together: one lm.step advanced several of them.
      expect(Math.max(...stepBatches)).toBeGreaterThanOrEqual(4);
      const tokens = await metric(served.url, "cobra_generated_tokens_total");
      expect(stepBatches.length).toBeLessThan(tokens - requests.length);
      const bucketOne = await metric(served.url, 'cobra_decode_batch_size_bucket{le="1"}');
      expect(await metric(served.url, "cobra_decode_batch_size_count")).toBeGreaterThan(bucketOne);
    } finally {
      await served.close();
    }
  });
});

describe("a client that goes away", () => {
  it("stops its generation and frees its slot at once (visible in /metrics); the others go on", async () => {
    const served = await startServer(cobra, { maxBatch: 2, maxQueue: 0 }, recording());
    try {
      const controller = new AbortController();
      const stream = await served.client.chat.completions.create(
        { model: "m", messages: caseMessages(CASES[1]), max_tokens: 100_000, stream: true },
        { signal: controller.signal },
      );
      const other = served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(CASES[2]),
        max_tokens: 200,
      });
      let received = 0;
      // The openai client ends the iteration quietly when its request is aborted.
      for await (const _ of stream) if (++received === 5) controller.abort();
      expect(received).toBe(5);
      await waitFor(async () => (await metric(served.url, "cobra_requests_aborted_total")) === 1);
      // Its slot is free: with maxBatch 2 and no queue, two more requests are taken at once.
      const expected = await cobra.generate({ ...caseRequest(CASES[2]), maxNewTokens: 200 });
      expect((await other).choices[0].message.content).toBe(expected.text);
      await waitFor(async () => (await metric(served.url, "cobra_running_sequences")) === 0);
      const after = await Promise.all(
        [CASES[0], CASES[5]].map((c) =>
          served.client.chat.completions.create({ model: "m", messages: caseMessages(c), max_tokens: 8 }),
        ),
      );
      expect(after.map((a) => a.choices[0].finish_reason)).toEqual(["length", "length"]);
      const generated = await metric(served.url, "cobra_generated_tokens_total");
      expect(generated).toBeLessThan(1000); // the aborted one did not run on
    } finally {
      await served.close();
    }
  });
});

describe("a full queue", () => {
  it("is a 429 RateLimitError with retry-after; the request is served once there is room", async () => {
    const served = await startServer(cobra, { maxBatch: 1, maxQueue: 0 });
    try {
      const controller = new AbortController();
      const long = await served.client.chat.completions.create(
        { model: "m", messages: caseMessages(CASES[0]), max_tokens: 100_000, stream: true },
        { signal: controller.signal },
      );
      const reader = long[Symbol.asyncIterator]();
      await reader.next();
      const err = await served.client.chat.completions
        .create({ model: "m", messages: caseMessages(CASES[1]), max_tokens: 4 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.headers.get("retry-after")).toBe("1");
      expect(err.code).toBe("rate_limit_exceeded");
      controller.abort();
      await reader.next().catch(() => {});
      await waitFor(async () => (await metric(served.url, "cobra_running_sequences")) === 0);
      const ok = await served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(CASES[1]),
        max_tokens: 4,
      });
      expect(ok.choices[0].finish_reason).toBe("length");
    } finally {
      await served.close();
    }
  });
});

describe("a failure inside the batch", () => {
  it("fails the requests in flight with a 500 and the server serves the next request", async () => {
    let broken = true;
    const model = recording();
    const lm = model.parts.lm;
    const faulty: LanguageModel = Object.create(lm);
    faulty.stackStates = (states) => {
      if (broken) throw new Error("simulated failure while stacking states");
      return lm.stackStates(states);
    };
    const logged: string[] = [];
    const served = await startServer(
      cobra,
      { log: (line) => void logged.push(line) },
      { ...model, parts: { ...model.parts, lm: faulty } },
    );
    try {
      const both = await Promise.all(
        [CASES[0], CASES[1]].map((c) =>
          served.client.chat.completions
            .create({ model: "m", messages: caseMessages(c), max_tokens: 200 })
            .catch((e) => e),
        ),
      );
      expect(both.some((r) => r instanceof OpenAI.InternalServerError)).toBe(true);
      expect(logged.join("\n")).toMatch(/simulated failure/);
      broken = false;
      const ok = await served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(CASES[0]),
        max_tokens: CASES[0].max_new_tokens,
      });
      expect(ok.choices[0].message.content).toBe(CASES[0].greedy_text);
    } finally {
      await served.close();
    }
  });
});
