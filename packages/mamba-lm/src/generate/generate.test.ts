import { AbortError, InvalidArgumentError, PromptTooLongError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MambaLM } from "../model/mamba-lm.js";
import {
  CASES,
  caseAt,
  firstNewIdAt,
  fixtureConfig,
  LLM_DIR,
  loadFixtureLM,
  longestGenerationCase,
  longestPromptCase,
  prefixOf,
  stackedPrefixes,
} from "../test-support/fixture.js";
import { loadMambaTokenizer } from "../tokenizer/load-node.js";
import type { MambaTokenizer } from "../tokenizer/mamba-tokenizer.js";
import { generate, streamGenerate } from "./generate.js";
import { generateBatch } from "./generate-batch.js";

/** The set's LM config: dims differ between fixture sets. */
const CONFIG = fixtureConfig();
let lm: MambaLM;
let tokenizer: MambaTokenizer;
beforeAll(async () => {
  lm = await loadFixtureLM();
  tokenizer = await loadMambaTokenizer(LLM_DIR);
});

/**
 * A stop string taken from a case's own output: the text of one generated token after the first (a word of at
 * least two characters) and the output before its first occurrence.
 */
function stopStringOf(c: (typeof CASES)[number]): { stop: string; before: string } | undefined {
  for (const id of c.greedy_ids.slice(1)) {
    const piece = tokenizer.decode([id], { skipSpecialTokens: true, cleanUpTokenizationSpaces: false });
    // A plain word (letters/digits, optionally after one space): clean-up rules cannot touch it.
    if (!/^ ?[\p{L}\p{N}]{2,}$/u.test(piece)) continue;
    const at = c.greedy_text.indexOf(piece);
    if (at > 0) return { stop: piece, before: c.greedy_text.slice(0, at) };
  }
  return undefined;
}
afterAll(() => lm?.release());

describe("generate on the fixture set", () => {
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

  it.each(CASES.map((c) => [c.id, c] as const))(
    "%s: streams {token, text delta}: tokens are the greedy ids, deltas add up to exactly the result's text",
    async (_id, c) => {
      const chunks = [];
      const stream = streamGenerate(lm, tokenizer, c.input_ids, {
        prefixEmbeds: await prefixOf(c),
        maxNewTokens: c.max_new_tokens,
      });
      let next = await stream.next();
      while (!next.done) {
        chunks.push(next.value);
        next = await stream.next();
      }
      expect(chunks.map((ch) => ch.token)).toEqual(c.greedy_ids);
      expect(chunks.map((ch) => ch.text).join("")).toBe(c.greedy_text);
      expect(next.value.text).toBe(c.greedy_text);
    },
  );

  it("stops on a stop string (cut from the output, never streamed) and on an eos id", async () => {
    // cobra-tiny's first case gives " Emperor"; any set: a word its output generates.
    const c = CASES.find((x) => stopStringOf(x) !== undefined) ?? CASES[0];
    const found = stopStringOf(c);
    expect(found, `${c.id}: a word of the output to stop on`).toBeDefined();
    const { stop, before } = found!;
    const prefixEmbeds = await prefixOf(c);
    const chunks = [];
    const stream = streamGenerate(lm, tokenizer, c.input_ids, {
      prefixEmbeds,
      maxNewTokens: c.max_new_tokens,
      stopStrings: [stop],
    });
    let next = await stream.next();
    while (!next.done) {
      chunks.push(next.value);
      next = await stream.next();
    }
    expect(next.value.stopReason).toBe("stop_string");
    expect(next.value.text).toBe(before.trim());
    // Nothing past the cut was streamed: the deltas are exactly the cut, stripped text.
    expect(chunks.map((ch) => ch.text).join("")).toBe(next.value.text);

    // An id first generated at position k (cobra-tiny: k = 3) as the eos id stops right after it.
    const k = firstNewIdAt(c.greedy_ids, Math.min(3, c.greedy_ids.length - 1));
    expect(k).toBeGreaterThan(0);
    const eos = await generate(lm, tokenizer, c.input_ids, {
      prefixEmbeds,
      maxNewTokens: c.max_new_tokens,
      eosTokenId: c.greedy_ids[k],
    });
    expect(eos.stopReason).toBe("eos");
    expect(eos.ids).toEqual(c.greedy_ids.slice(0, k + 1));
  });

  it("continues from a saved image-prefix state exactly like running the prefix again", async () => {
    const c = caseAt(4);
    const { state } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    const restored = lm.restoreState(await state.toBytes());
    const result = await generate(lm, tokenizer, c.input_ids, {
      state: restored,
      maxNewTokens: c.max_new_tokens,
    });
    expect(result.ids).toEqual(c.greedy_ids);
  });

  it("samples reproducibly with a seed; topK 1 is greedy even when sampling", async () => {
    const c = caseAt(1);
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
    const c = longestGenerationCase();
    expect(c.greedy_ids.length).toBeGreaterThan(3);
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
    const ids = longestPromptCase().input_ids; // cobra-tiny: 75 tokens, limit 64
    expect(ids.length).toBeGreaterThan(1);
    const limit = Math.max(1, ids.length - 11);
    const refused = await generate(lm, tokenizer, ids, { maxPromptLength: limit, maxNewTokens: 1 }).catch(
      (e) => e,
    );
    expect(refused).toBeInstanceOf(PromptTooLongError);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect([refused.tokens, refused.limit]).toEqual([ids.length, limit]);
    expect(refused.message).toBe(
      `the prompt is ${ids.length} tokens, over maxPromptLength ${limit} (Cobra's llm_max_length); shorten it, or pass promptOverflow: "truncate" to cut it like the official tokenizer`,
    );
    const truncated = await generate(lm, tokenizer, ids, {
      maxPromptLength: limit,
      promptOverflow: "truncate",
      maxNewTokens: 1,
    });
    expect(truncated.promptIds).toEqual(ids.slice(0, limit));
  });

  it("ids outside the vocabulary", async () => {
    const outside = CONFIG.vocabSizePadded + 49719; // cobra-tiny: 99999
    await expect(generate(lm, tokenizer, [1, outside], { maxNewTokens: 1 })).rejects.toThrow(
      `token id ${outside}`,
    );
  });
});

describe("generateBatch", () => {
  it("decodes prompts of different lengths and prefixes together, each exactly as alone", async () => {
    // cobra-tiny: cases 0, 3 (the longest prompt) and 5 (the last).
    const cases = [CASES[0], longestPromptCase(), CASES[CASES.length - 1]];
    const results = await generateBatch(
      lm,
      tokenizer,
      cases.map((c) => c.input_ids),
      {
        prefixEmbeds: await stackedPrefixes(cases),
        maxNewTokens: Math.max(...cases.map((c) => c.max_new_tokens)),
      },
    );
    expect(results.map((r) => r.ids)).toEqual(cases.map((c) => c.greedy_ids));
    expect(results.map((r) => r.text)).toEqual(cases.map((c) => c.greedy_text));
  });

  it("fans one image-prefix state out to several questions; rows stop independently", async () => {
    const c = longestGenerationCase();
    // An id first generated at position k (cobra-tiny: k = 5) as the eos id; a shorter question beside it.
    const k = firstNewIdAt(c.greedy_ids, Math.min(5, c.greedy_ids.length - 1));
    expect(k).toBeGreaterThan(0);
    const short = c.input_ids.slice(0, Math.min(12, c.input_ids.length - 1));
    const { state } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    const results = await generateBatch(lm, tokenizer, [c.input_ids, short], {
      state,
      maxNewTokens: c.max_new_tokens,
      eosTokenId: c.greedy_ids[k],
    });
    expect(results[0].ids).toEqual(c.greedy_ids.slice(0, k + 1));
    expect(results[0].stopReason).toBe("eos");
    const alone = await generate(lm, tokenizer, short, {
      state,
      maxNewTokens: c.max_new_tokens,
      eosTokenId: c.greedy_ids[k],
    });
    expect(results[1].ids).toEqual(alone.ids);
    const continued = await lm.step(results[1].ids.at(-1)!, results[1].state);
    const continuedAlone = await lm.step(alone.ids.at(-1)!, alone.state);
    expect(continued.logits.data).toEqual(continuedAlone.logits.data);
  });

  it("prefills questions of several lengths from one state together, each row exactly as alone", async () => {
    const c = longestPromptCase();
    const { state } = await lm.prefill({ prefixEmbeds: await prefixOf(c) });
    // Lengths 7, 3, 7, 12, 3, 1: equal lengths end in the same call, longer rows run on.
    const prompts = [7, 3, 7, 12, 3, 1].map((n, i) => c.input_ids.slice(i % 2, (i % 2) + n));
    const together = await generateBatch(lm, tokenizer, prompts, {
      state,
      maxNewTokens: 3,
      eosTokenId: null,
    });
    for (const [i, prompt] of prompts.entries()) {
      const alone = await generate(lm, tokenizer, prompt, { state, maxNewTokens: 3, eosTokenId: null });
      expect(together[i].promptIds).toEqual(prompt);
      expect(together[i].prefillLogits).toEqual(alone.prefillLogits);
      expect(together[i].ids).toEqual(alone.ids);
      const next = await lm.step(0, together[i].state);
      expect(next.logits.data).toEqual((await lm.step(0, alone.state)).logits.data);
    }
  });

  it("refuses a prefix batch that fits neither one nor every prompt", async () => {
    await expect(
      generateBatch(lm, tokenizer, [[1], [2], [3]], {
        prefixEmbeds: { data: new Float32Array(2 * CONFIG.dModel), shape: [2, 1, CONFIG.dModel] },
      }),
    ).rejects.toThrow(/give 1 \(shared\) or 3/);
  });
});
