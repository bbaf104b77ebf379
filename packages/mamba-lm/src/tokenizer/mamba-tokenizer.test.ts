import { ConfigError, InvalidArgumentError } from "@cobra-ts/core";
import { beforeAll, describe, expect, it } from "vitest";
import { pythonStrip } from "../prompt/python-strip.js";
import {
  addedTokenId,
  byteTokenId,
  CASES,
  eosIdFromFiles,
  readLlmFile,
  tokenizerIdCount,
} from "../test-support/fixture.js";
import { MambaTokenizer } from "./mamba-tokenizer.js";

const cases = CASES;
/** The tokenizer's id count (GPT-NeoX: 50277; the LM pads its embedding past it). */
const ID_COUNT = tokenizerIdCount();
/** GPT-NeoX's added (non-special) token for a run of three spaces (50275). */
const THREE_SPACES = addedTokenId("   ");
let tokenizer: MambaTokenizer;

beforeAll(() => {
  tokenizer = MambaTokenizer.fromJSON(readLlmFile("tokenizer.json"), readLlmFile("tokenizer_config.json"));
});

describe("MambaTokenizer on the fixture set's cases", () => {
  it.each(cases.map((c) => [c.id, c] as const))("%s: encode(prompt_string) == input_ids", (_, c) => {
    expect(tokenizer.encode(c.prompt_string)).toEqual(c.input_ids);
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s: decode(greedy_ids) == greedy_text", (_, c) => {
    const cleaned = tokenizer.decode(c.greedy_ids, {
      skipSpecialTokens: true,
      cleanUpTokenizationSpaces: true,
    });
    expect(pythonStrip(cleaned)).toBe(c.greedy_text);
    // tokenizer_config.json sets clean_up_tokenization_spaces: true, so it is the default.
    expect(tokenizer.decode(c.greedy_ids, { skipSpecialTokens: true })).toBe(cleaned);
    const raw = tokenizer.decode(c.greedy_ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false });
    expect(pythonStrip(raw)).toBe(c.greedy_text_no_cleanup);
  });

  it("decodes the prompts back to the prompt strings (special tokens kept)", () => {
    for (const c of cases) {
      expect(tokenizer.decode(c.input_ids, { cleanUpTokenizationSpaces: false })).toBe(c.prompt_string);
    }
  });
});

describe("MambaTokenizer", () => {
  it("has the eos id and vocabulary size of its files (GPT-NeoX: 0 and 50277)", () => {
    expect(tokenizer.eosTokenId).toBe(eosIdFromFiles());
    expect(tokenizer.vocabSize).toBe(ID_COUNT);
    expect(tokenizer.cleanUpTokenizationSpaces).toBe(true);
  });

  it("recognizes special tokens in raw text and adds no BOS/EOS", () => {
    const eos = eosIdFromFiles();
    const ids = tokenizer.encode("Hi<|endoftext|>there");
    expect(ids).toContain(eos);
    expect(ids[0]).not.toBe(eos);
    expect(ids.at(-1)).not.toBe(eos);
    expect(tokenizer.encode("")).toEqual([]);
  });

  it("skips special ids only when asked", () => {
    const hello = tokenizer.encode("Hello");
    const eos = eosIdFromFiles();
    const padding = addedTokenId("<|padding|>") ?? eos;
    expect(tokenizer.decode([...hello, eos])).toBe("Hello<|endoftext|>");
    expect(tokenizer.decode([...hello, eos], { skipSpecialTokens: true })).toBe("Hello");
    expect(tokenizer.decode([padding, ...hello], { skipSpecialTokens: true })).toBe("Hello");
    expect(tokenizer.isSpecialId(eos)).toBe(true);
    expect(tokenizer.isSpecialId(THREE_SPACES!)).toBe(false);
  });

  it("drops ids of the embedding's padding rows (>= vocabSize)", () => {
    const ids = tokenizer.encode("a cat");
    const [a, b, c] = [ID_COUNT, ID_COUNT + 1, ID_COUNT + 2];
    expect(tokenizer.decode([a, b, c])).toBe("");
    expect(tokenizer.decode([ids[0], b, ...ids.slice(1), c])).toBe("a cat");
    expect(tokenizer.idToToken(a)).toBeUndefined();
  });

  it("decodes the space-run added tokens to real spaces", () => {
    expect(THREE_SPACES).toBeDefined();
    expect(tokenizer.decode([THREE_SPACES!])).toBe("   ");
    const ids = tokenizer.encode("Where   might");
    expect(ids).toContain(THREE_SPACES);
    expect(tokenizer.decode(ids)).toBe("Where   might");
  });

  it("replaces invalid UTF-8 with U+FFFD", () => {
    const coffee = tokenizer.encode("☕");
    expect(coffee.length).toBeGreaterThan(1); // one character, several byte tokens
    expect(tokenizer.decode(coffee)).toBe("☕");
    expect(tokenizer.decode(coffee.slice(0, -1))).toBe("\uFFFD");
    expect(tokenizer.decode([byteTokenId(0xad)])).toBe("\uFFFD"); // a lone continuation byte (GPT-NeoX id 244)
  });

  it("keeps a byte-order mark (UTF-8, not UTF-8-sig)", () => {
    expect(tokenizer.decode(tokenizer.encode("\uFEFFhi"))).toBe("\uFEFFhi");
  });

  it("applies clean-up as configured", () => {
    const ids = tokenizer.encode("I do n't know .");
    expect(tokenizer.decode(ids)).toBe("I don't know.");
    expect(tokenizer.decode(ids, { cleanUpTokenizationSpaces: false })).toBe("I do n't know .");
    const noCleanUp = MambaTokenizer.fromJSON(readLlmFile("tokenizer.json"), {
      clean_up_tokenization_spaces: false,
    });
    expect(noCleanUp.decode(ids)).toBe("I do n't know .");
  });

  it("rejects invalid ids and files", () => {
    expect(() => tokenizer.decode([-1])).toThrow(InvalidArgumentError);
    expect(() => tokenizer.decode([1.5])).toThrow(InvalidArgumentError);
    expect(() => MambaTokenizer.fromJSON("{not json")).toThrow(ConfigError);
    expect(() => MambaTokenizer.fromJSON({ model: {} })).toThrow(ConfigError);
    expect(() => MambaTokenizer.fromJSON("[]")).toThrow(ConfigError);
  });
});
