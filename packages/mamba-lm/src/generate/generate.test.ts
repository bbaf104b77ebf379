import { AbortError, InvalidArgumentError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MambaLM } from "../model/mamba-lm.js";
import { CASES, FIXTURE, loadFixtureLM, prefixOf } from "../test-support/fixture.js";
import { loadMambaTokenizer } from "../tokenizer/load-node.js";
import type { MambaTokenizer } from "../tokenizer/mamba-tokenizer.js";
import { generate, streamGenerate } from "./generate.js";
import { generateBatch } from "./generate-batch.js";

let lm: MambaLM;
let tokenizer: MambaTokenizer;
beforeAll(async () => {
  lm = await loadFixtureLM();
  tokenizer = await loadMambaTokenizer(`${FIXTURE}release/llm`);
});
afterAll(() => lm?.release());

describe("generate on cobra-tiny", () => {
  it.each(CASES.map((c) => [c.id, c] as const))(
    "%s: greedy ids and text exactly as the official generate",
    async (_id, c) => {
      const result = await generate(lm, tokenizer, c.prompt_string, {
        prefixEmbeds: await prefixOf(c),
        maxNewTokens: c.max_new_tokens,
      });
      expect(result.promptIds).toEqual(c.input_ids);
      expect(result.ids).toEqual(c.greedy_ids);
      expect(result.text).toBe(c.greedy_text);
      expect(result.stopReason).toBe(c.stopped_on_eos ? "eos" : "max_new_tokens");
    },
  );

  it("streams {token, text delta}: tokens are the greedy ids, deltas add up to the decoded text", async () => {
    const c = CASES[2];
    const chunks = [];
    const stream = streamGenerate(lm, tokenizer, c.input_ids, {
      prefixEmbeds: await prefixOf(c),
      maxNewTokens: c.max_new_tokens,
    });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((ch) => ch.token)).toEqual(c.greedy_ids);
    const text = chunks.map((ch) => ch.text).join("");
    expect(text).toBe(tokenizer.decode(c.greedy_ids, { skipSpecialTokens: true }));
    expect(text.trim()).toBe(c.greedy_text);
  });

  it("stops on a stop string (cut from the output, never streamed) and on an eos id", async () => {
    const c = CASES[0];
    const prefixEmbeds = await prefixOf(c);
    const chunks = [];
    const stream = streamGenerate(lm, tokenizer, c.input_ids, {
      prefixEmbeds,
      maxNewTokens: 24,
      stopStrings: [" Emperor"],
    });
    let next = await stream.next();
    while (!next.done) {
      chunks.push(next.value);
      next = await stream.next();
    }
    expect(next.value.stopReason).toBe("stop_string");
    expect(next.value.text).toBe(c.greedy_text.slice(0, c.greedy_text.indexOf(" Emperor")));
    const streamed = chunks.map((ch) => ch.text).join(""); // not stripped: Cobra's strip() needs the end
    expect(streamed.trim()).toBe(next.value.text);
    expect(streamed).not.toContain("Emperor");

    const eos = await generate(lm, tokenizer, c.input_ids, {
      prefixEmbeds,
      maxNewTokens: 24,
      eosTokenId: c.greedy_ids[3],
    });
    expect(eos.stopReason).toBe("eos");
    expect(eos.ids).toEqual(c.greedy_ids.slice(0, 4));
  });

  it("continues from a saved image-prefix state exactly like running the prefix again", async () => {
    const c = CASES[4];
    const { state } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    const restored = lm.restoreState(await state.toBytes());
    const result = await generate(lm, tokenizer, c.input_ids, {
      state: restored,
      maxNewTokens: c.max_new_tokens,
    });
    expect(result.ids).toEqual(c.greedy_ids);
  });

  it("samples reproducibly with a seed; topK 1 is greedy even when sampling", async () => {
    const c = CASES[1];
    const base = { prefixEmbeds: await prefixOf(c), maxNewTokens: 12 };
    const sampled = { ...base, doSample: true, topK: 0, topP: 0.9, temperature: 1.5, repetitionPenalty: 1.2 };
    const a = await generate(lm, tokenizer, c.input_ids, { ...sampled, seed: 7 });
    const b = await generate(lm, tokenizer, c.input_ids, { ...sampled, seed: 7 });
    const other = await generate(lm, tokenizer, c.input_ids, { ...sampled, seed: 8 });
    expect(a.ids).toEqual(b.ids);
    expect(other.ids).not.toEqual(a.ids);
    expect(a.ids).not.toEqual(c.greedy_ids.slice(0, 12));
    const greedy = await generate(lm, tokenizer, c.input_ids, {
      ...base,
      doSample: true,
      topK: 1,
      temperature: 0.4,
      seed: 3,
    });
    expect(greedy.ids).toEqual(c.greedy_ids.slice(0, 12));
  });

  it("AbortSignal cancels between tokens with AbortError", async () => {
    const c = CASES[0];
    const controller = new AbortController();
    const seen: number[] = [];
    const run = async () => {
      for await (const chunk of streamGenerate(lm, tokenizer, c.input_ids, {
        prefixEmbeds: await prefixOf(c),
        signal: controller.signal,
      })) {
        seen.push(chunk.token);
        if (seen.length === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow(AbortError);
    expect(seen).toEqual(c.greedy_ids.slice(0, 3));
    await expect(generate(lm, tokenizer, c.input_ids, { signal: AbortSignal.abort() })).rejects.toThrow(
      AbortError,
    );
  });
});

describe("generate refuses bad options before running", () => {
  it.each([
    [{ doSample: true, topP: 2 }, /topP/],
    [{ doSample: true, topK: 0, temperature: 0 }, /temperature/],
    [{ repetitionPenalty: 0 }, /repetitionPenalty/],
    [{ topK: -1 }, /topK/],
    [{ maxNewTokens: -1 }, /maxNewTokens/],
    [{ stopStrings: [""] }, /stopStrings/],
    [{ maxPromptLength: 0 }, /maxPromptLength/],
  ])("%j", async (options, message) => {
    await expect(generate(lm, tokenizer, [1, 2, 3], options as never)).rejects.toThrow(InvalidArgumentError);
    await expect(generate(lm, tokenizer, [1, 2, 3], options as never)).rejects.toThrow(message);
  });

  it("a prompt over maxPromptLength is refused by default, or truncated like Cobra's tokenizer on request", async () => {
    const ids = CASES[3].input_ids; // 75 tokens
    await expect(generate(lm, tokenizer, ids, { maxPromptLength: 64, maxNewTokens: 1 })).rejects.toThrow(
      /prompt is 75 tokens, over maxPromptLength 64/,
    );
    const truncated = await generate(lm, tokenizer, ids, {
      maxPromptLength: 64,
      promptOverflow: "truncate",
      maxNewTokens: 1,
    });
    expect(truncated.promptIds).toEqual(ids.slice(0, 64));
  });

  it("ids outside the vocabulary", async () => {
    await expect(generate(lm, tokenizer, [1, 99999], { maxNewTokens: 1 })).rejects.toThrow(/token id 99999/);
  });
});

describe("generateBatch", () => {
  it("decodes prompts of different lengths and prefixes together, each exactly as alone", async () => {
    const cases = [CASES[0], CASES[3], CASES[5]];
    const prefix = new Float32Array(3 * 729 * 16);
    for (const [i, c] of cases.entries()) prefix.set((await prefixOf(c)).data, i * 729 * 16);
    const results = await generateBatch(
      lm,
      tokenizer,
      cases.map((c) => c.input_ids),
      { prefixEmbeds: { data: prefix, shape: [3, 729, 16] }, maxNewTokens: 24 },
    );
    expect(results.map((r) => r.ids)).toEqual(cases.map((c) => c.greedy_ids));
    expect(results.map((r) => r.text)).toEqual(cases.map((c) => c.greedy_text));
  });

  it("fans one image-prefix state out to several questions; rows stop independently", async () => {
    const c = CASES[0];
    const { state } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    const results = await generateBatch(lm, tokenizer, [c.input_ids, c.input_ids.slice(0, 12)], {
      state,
      maxNewTokens: 24,
      eosTokenId: c.greedy_ids[5],
    });
    expect(results[0].ids).toEqual(c.greedy_ids.slice(0, 6));
    expect(results[0].stopReason).toBe("eos");
    const alone = await generate(lm, tokenizer, c.input_ids.slice(0, 12), {
      state,
      maxNewTokens: 24,
      eosTokenId: c.greedy_ids[5],
    });
    expect(results[1].ids).toEqual(alone.ids);
    const continued = await lm.step(results[1].ids.at(-1)!, results[1].state);
    const continuedAlone = await lm.step(alone.ids.at(-1)!, alone.state);
    expect(continued.logits.data).toEqual(continuedAlone.logits.data);
  });

  it("refuses a prefix batch that fits neither one nor every prompt", async () => {
    await expect(
      generateBatch(lm, tokenizer, [[1], [2], [3]], {
        prefixEmbeds: { data: new Float32Array(32), shape: [2, 1, 16] },
      }),
    ).rejects.toThrow(/give 1 \(shared\) or 3/);
  });
});
