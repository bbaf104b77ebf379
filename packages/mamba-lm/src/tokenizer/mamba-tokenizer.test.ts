import { ConfigError, InvalidArgumentError } from "@cobra-ts/core";
import { beforeAll, describe, expect, it } from "vitest";
import { pythonStrip } from "../prompt/python-strip.js";
import { readCobraTinyCases, readCobraTinyLlmFile } from "./cobra-tiny.test-util.js";
import { MambaTokenizer } from "./mamba-tokenizer.js";

const cases = readCobraTinyCases();
let tokenizer: MambaTokenizer;

beforeAll(() => {
  tokenizer = MambaTokenizer.fromJSON(
    readCobraTinyLlmFile("tokenizer.json"),
    readCobraTinyLlmFile("tokenizer_config.json"),
  );
});

describe("MambaTokenizer on the cobra-tiny cases", () => {
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
  it("has GPT-NeoX's eos id and vocabulary size", () => {
    expect(tokenizer.eosTokenId).toBe(0);
    expect(tokenizer.vocabSize).toBe(50277);
    expect(tokenizer.cleanUpTokenizationSpaces).toBe(true);
  });

  it("recognizes special tokens in raw text and adds no BOS/EOS", () => {
    const ids = tokenizer.encode("Hi<|endoftext|>there");
    expect(ids).toContain(0);
    expect(ids[0]).not.toBe(0);
    expect(ids.at(-1)).not.toBe(0);
    expect(tokenizer.encode("")).toEqual([]);
  });

  it("skips special ids only when asked", () => {
    const hello = tokenizer.encode("Hello");
    expect(tokenizer.decode([...hello, 0])).toBe("Hello<|endoftext|>");
    expect(tokenizer.decode([...hello, 0], { skipSpecialTokens: true })).toBe("Hello");
    expect(tokenizer.decode([1, ...hello], { skipSpecialTokens: true })).toBe("Hello"); // <|padding|>
    expect(tokenizer.isSpecialId(0)).toBe(true);
    expect(tokenizer.isSpecialId(50275)).toBe(false);
  });

  it("drops ids of the embedding's padding rows (>= vocabSize)", () => {
    const ids = tokenizer.encode("a cat");
    expect(tokenizer.decode([50277, 50278, 50279])).toBe("");
    expect(tokenizer.decode([ids[0], 50278, ...ids.slice(1), 50279])).toBe("a cat");
    expect(tokenizer.idToToken(50277)).toBeUndefined();
  });

  it("decodes the space-run added tokens to real spaces", () => {
    expect(tokenizer.decode([50275])).toBe("   ");
    const ids = tokenizer.encode("Where   might");
    expect(ids).toContain(50275);
    expect(tokenizer.decode(ids)).toBe("Where   might");
  });

  it("replaces invalid UTF-8 with U+FFFD", () => {
    const coffee = tokenizer.encode("☕");
    expect(coffee.length).toBeGreaterThan(1); // one character, several byte tokens
    expect(tokenizer.decode(coffee)).toBe("☕");
    expect(tokenizer.decode(coffee.slice(0, -1))).toBe("\uFFFD");
    expect(tokenizer.decode([244])).toBe("\uFFFD"); // a lone continuation byte (rocket case)
  });

  it("keeps a byte-order mark (UTF-8, not UTF-8-sig)", () => {
    expect(tokenizer.decode(tokenizer.encode("\uFEFFhi"))).toBe("\uFEFFhi");
  });

  it("applies clean-up as configured", () => {
    const ids = tokenizer.encode("I do n't know .");
    expect(tokenizer.decode(ids)).toBe("I don't know.");
    expect(tokenizer.decode(ids, { cleanUpTokenizationSpaces: false })).toBe("I do n't know .");
    const noCleanUp = MambaTokenizer.fromJSON(readCobraTinyLlmFile("tokenizer.json"), {
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
