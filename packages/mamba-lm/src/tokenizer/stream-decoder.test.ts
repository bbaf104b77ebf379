import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../sampling/rng.js";
import {
  byteTokenId,
  CASES,
  eosIdFromFiles,
  readLlmFile,
  tokenizerIdCount,
} from "../test-support/fixture.js";
import { cleanUpTokenizationSpaces } from "./clean-up.js";
import { type DecodeOptions, MambaTokenizer } from "./mamba-tokenizer.js";
import { TokenStreamDecoder } from "./stream-decoder.js";

const cases = CASES;
let tokenizer: MambaTokenizer;

beforeAll(() => {
  tokenizer = MambaTokenizer.fromJSON(readLlmFile("tokenizer.json"), readLlmFile("tokenizer_config.json"));
});

function streamDeltas(ids: readonly number[], options: DecodeOptions): string[] {
  const stream = tokenizer.createStreamDecoder(options);
  const deltas = ids.map((id) => stream.push(id));
  deltas.push(stream.finish());
  expect(stream.text).toBe(deltas.join(""));
  return deltas;
}

const OPTION_SETS: DecodeOptions[] = [
  { skipSpecialTokens: true, cleanUpTokenizationSpaces: true },
  { skipSpecialTokens: true, cleanUpTokenizationSpaces: false },
  { skipSpecialTokens: false, cleanUpTokenizationSpaces: true },
  { skipSpecialTokens: false, cleanUpTokenizationSpaces: false },
];

describe("TokenStreamDecoder on the fixture set's cases", () => {
  it.each(cases.map((c) => [c.id, c] as const))("%s: concatenated deltas == decode", (_, c) => {
    // Generated ids, plus the prompt ids (which split multi-byte characters) and eos/padding ids.
    // A padding-row id (past the tokenizer's ids, below the LM's padded vocabulary) and the eos id.
    for (const ids of [
      c.greedy_ids,
      c.input_ids,
      [...c.greedy_ids, tokenizerIdCount() + 1, eosIdFromFiles()],
    ]) {
      for (const options of OPTION_SETS) {
        expect(streamDeltas(ids, options).join("")).toBe(tokenizer.decode(ids, options));
      }
    }
  });

  it.each(cases.map((c) => [c.id, c] as const))(
    "%s: never emits half a character while the prompt's multi-byte characters arrive byte by byte",
    (_, c) => {
      const deltas = streamDeltas(c.input_ids, { cleanUpTokenizationSpaces: false });
      expect(deltas.join("")).toBe(c.prompt_string);
      if (!c.prompt_string.includes("\uFFFD")) expect(deltas.some((d) => d.includes("\uFFFD"))).toBe(false);
      // An id that alone is no whole character (cobra-tiny: the coffee_unicode prompt) must be held back.
      const partial = c.input_ids.some((id) => tokenizer.decode([id]).includes("\uFFFD"));
      if (partial) expect(deltas.filter((d) => d === "").length).toBeGreaterThan(0);
    },
  );
});

describe("TokenStreamDecoder", () => {
  it("holds back an incomplete character and flushes it as U+FFFD at the end", () => {
    const coffee = tokenizer.encode("☕");
    const stream = tokenizer.createStreamDecoder({ cleanUpTokenizationSpaces: false });
    for (const id of coffee.slice(0, -1)) expect(stream.push(id)).toBe("");
    expect(stream.finish()).toBe("\uFFFD");
  });

  it("emits a lone invalid byte as soon as it is known to be invalid", () => {
    const stream = tokenizer.createStreamDecoder({ cleanUpTokenizationSpaces: false });
    // A continuation byte (GPT-NeoX id 244) can never start a character.
    expect(stream.push(byteTokenId(0xad))).toBe("\uFFFD");
  });

  it("emits only the part of the cleaned text that later text cannot change", () => {
    const ids = tokenizer.encode("I do n't know .");
    const deltas = streamDeltas(ids, { cleanUpTokenizationSpaces: true });
    expect(deltas.join("")).toBe("I don't know.");
    for (let i = 1; i <= deltas.length; i++) {
      // Every prefix of the stream is a prefix of the final text.
      expect("I don't know.".startsWith(deltas.slice(0, i).join(""))).toBe(true);
    }
  });

  it("matches one-shot decoding for random byte splits and clean-up patterns (property test)", () => {
    const rng = createRng(7);
    const alphabet = [
      " ",
      " ",
      ".",
      "'",
      "n",
      "t",
      "s",
      "m",
      "v",
      "e",
      "r",
      "?",
      "!",
      ",",
      "a",
      "é",
      "☕",
      "😀",
    ];
    const utf8 = new TextEncoder();
    for (let trial = 0; trial < 300; trial++) {
      let text = "";
      const length = Math.floor(rng.nextFloat() * 30);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(rng.nextFloat() * alphabet.length)];
      let bytes = utf8.encode(text);
      if (rng.nextFloat() < 0.3) bytes = Uint8Array.from([...bytes, 0xe2, 0x98]); // truncated tail
      if (rng.nextFloat() < 0.3) bytes = Uint8Array.from([0x80, ...bytes]); // stray continuation byte
      const chunks: Uint8Array[] = [];
      for (let start = 0; start < bytes.length; ) {
        const end = Math.min(bytes.length, start + 1 + Math.floor(rng.nextFloat() * 4));
        chunks.push(bytes.slice(start, end));
        start = end;
      }
      const expectedRaw = new TextDecoder().decode(bytes);
      for (const cleanUp of [false, true]) {
        const stream = new TokenStreamDecoder((id) => chunks[id], { cleanUpTokenizationSpaces: cleanUp });
        let streamed = "";
        for (let id = 0; id < chunks.length; id++) streamed += stream.push(id);
        streamed += stream.finish();
        expect(streamed).toBe(cleanUp ? cleanUpTokenizationSpaces(expectedRaw) : expectedRaw);
      }
    }
  });

  it("refuses ids after finish()", () => {
    const stream = tokenizer.createStreamDecoder();
    stream.finish();
    expect(stream.finish()).toBe("");
    expect(() => stream.push(5)).toThrow();
  });
});
