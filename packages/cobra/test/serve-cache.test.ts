// The image-state cache through the server: a follow-up about the same image skips the vision pass and the
// prefix it shares, and is answered exactly like the whole conversation run from scratch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cobra } from "../src/runtime/load-node.js";
import type { ServedModel } from "../src/serve/server.js";
import { CASES, caseRequest } from "./fixture.js";
import { caseMessages, convertedTinyModel, metric, startServer } from "./serve-fixture.js";

let cobra: Cobra;
let cleanup: () => Promise<void>;
let visionPasses = 0;

function counting(): ServedModel {
  return {
    parts: cobra.parts,
    settings: cobra.settings,
    encodeImage: (image, signal) => {
      visionPasses++;
      return cobra.encodeImage(image, signal);
    },
    promptString: (request) => cobra.promptString(request),
  };
}

beforeAll(async () => {
  ({ cobra, cleanup } = await convertedTinyModel());
});
afterAll(() => cleanup?.());

describe("the image-state cache", () => {
  it("serves a new question and a follow-up turn about the same image from cached states", async () => {
    const served = await startServer(cobra, {}, counting());
    const prefilled = () => metric(served.url, "cobra_prefill_tokens_total");
    const lookups = (result: string) =>
      metric(served.url, `cobra_state_cache_lookups_total{result="${result}"}`);
    try {
      const c = CASES[0];
      const first = await served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(c),
        max_tokens: c.max_new_tokens,
      });
      expect(first.choices[0].message.content).toBe(c.greedy_text);
      expect([visionPasses, await lookups("miss"), await lookups("hit")]).toEqual([1, 1, 0]);

      // Another question about the same image: the state after the image is reused.
      const other = CASES.find((x) => x.image !== c.image)!;
      const question = [...caseMessages(c)];
      question[0] = {
        role: "user",
        content: [(caseMessages(c)[0].content as never[])[0], { type: "text", text: other.user_message }],
      };
      let before = await prefilled();
      const second = await served.client.chat.completions.create({
        model: "m",
        messages: question,
        max_tokens: 12,
      });
      const alone = await cobra.generate({
        ...caseRequest(c),
        messages: [{ role: "user", content: other.user_message }],
        maxNewTokens: 12,
      });
      expect(second.choices[0].message.content).toBe(alone.text);
      expect(visionPasses).toBe(1);
      expect(await lookups("hit")).toBe(1);
      expect((await prefilled()) - before).toBe(alone.promptIds.length); // no image rows

      // A follow-up turn: the state after the first answer covers the whole earlier conversation.
      const followUp = [
        ...caseMessages(c),
        { role: "assistant" as const, content: first.choices[0].message.content! },
        { role: "user" as const, content: "And what else?" },
      ];
      before = await prefilled();
      const third = await served.client.chat.completions.create({
        model: "m",
        messages: followUp,
        max_tokens: 12,
      });
      const whole = await cobra.generate({
        ...caseRequest(c),
        messages: [
          { role: "user", content: c.user_message },
          { role: "assistant", content: c.greedy_text },
          { role: "user", content: "And what else?" },
        ],
        maxNewTokens: 12,
      });
      expect(third.choices[0].message.content).toBe(whole.text);
      expect(visionPasses).toBe(1);
      expect(await lookups("hit")).toBe(2);
      expect((await prefilled()) - before).toBeLessThanOrEqual(whole.promptIds.length - c.input_ids.length);

      // Another image is a miss.
      await served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(other),
        max_tokens: 2,
      });
      expect([visionPasses, await lookups("miss")]).toEqual([2, 2]);
      expect(await metric(served.url, "cobra_state_cache_bytes")).toBeGreaterThan(0);
    } finally {
      await served.close();
    }
  });

  it("--state-cache-mb 0 keeps nothing: every request runs the vision pass", async () => {
    visionPasses = 0;
    const served = await startServer(cobra, { stateCacheMb: 0 }, counting());
    try {
      for (let i = 0; i < 2; i++)
        await served.client.chat.completions.create({
          model: "m",
          messages: caseMessages(CASES[0]),
          max_tokens: 2,
        });
      expect(visionPasses).toBe(2);
      expect(await metric(served.url, "cobra_state_cache_bytes")).toBe(0);
    } finally {
      await served.close();
    }
  });
});
