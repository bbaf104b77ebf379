import { InvalidArgumentError } from "@cobra-ts/core";
import { beforeAll, describe, expect, it } from "vitest";
import { pythonStrip } from "./prompt/python-strip.js";
import { findStopString, StopCriteria, stopStringPrefixLength } from "./stop.js";
import { CASES, readLlmFile } from "./test-support/fixture.js";
import { MambaTokenizer } from "./tokenizer/mamba-tokenizer.js";

describe("StopCriteria", () => {
  it("stops on eos, keeping the text", () => {
    const stop = new StopCriteria({ eosTokenId: 0, maxNewTokens: 10 });
    expect(stop.check(5, 1, "a")).toEqual({ reason: null, text: "a", stableLength: 1 });
    expect(stop.check(0, 2, "a")).toEqual({ reason: "eos", text: "a", stableLength: 1 });
    expect(new StopCriteria({ eosTokenId: [0, 7], maxNewTokens: 10 }).check(7, 1, "").reason).toBe("eos");
    expect(new StopCriteria({ eosTokenId: null, maxNewTokens: 10 }).check(0, 1, "").reason).toBeNull();
  });

  it("stops after max_new_tokens tokens, and generates none for 0", () => {
    const stop = new StopCriteria({ maxNewTokens: 2 });
    expect(stop.canGenerate(0)).toBe(true);
    expect(stop.check(5, 1, "a").reason).toBeNull();
    expect(stop.check(6, 2, "ab").reason).toBe("max_new_tokens");
    expect(new StopCriteria({ maxNewTokens: 0 }).canGenerate(0)).toBe(false);
  });

  it("eos wins over max_new_tokens on the same token, as in mamba_ssm", () => {
    expect(new StopCriteria({ eosTokenId: 0, maxNewTokens: 1 }).check(0, 1, "").reason).toBe("eos");
  });

  it("cuts the output before the first stop string", () => {
    const stop = new StopCriteria({ stopStrings: ["\n\n", "User:"], maxNewTokens: 100 });
    expect(stop.check(1, 1, "Hello")).toEqual({ reason: null, text: "Hello", stableLength: 5 });
    expect(stop.check(1, 2, "Hello\nUs")).toEqual({ reason: null, text: "Hello\nUs", stableLength: 6 });
    expect(stop.check(1, 2, "Hello\n")).toEqual({ reason: null, text: "Hello\n", stableLength: 5 });
    expect(stop.check(1, 3, "Hello\nUser: hi")).toEqual({
      reason: "stop_string",
      text: "Hello\n",
      stableLength: 6,
    });
    expect(stop.check(1, 3, "A\n\nUser:")).toEqual({ reason: "stop_string", text: "A", stableLength: 1 });
  });

  it("validates its options", () => {
    expect(() => new StopCriteria({ maxNewTokens: -1 })).toThrow(/^maxNewTokens /);
    expect(() => new StopCriteria({ maxNewTokens: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new StopCriteria({ maxNewTokens: 1, eosTokenId: -3 })).toThrow(/^eosTokenId /);
    expect(() => new StopCriteria({ maxNewTokens: 1, stopStrings: [""] })).toThrow(/^stopStrings /);
  });
});

describe("stop string helpers", () => {
  it("findStopString returns the earliest (then longest) match", () => {
    expect(findStopString("abcabc", ["c", "bc"])).toEqual({ index: 1, stopString: "bc" });
    expect(findStopString("abc", ["x"])).toBeNull();
  });

  it("stopStringPrefixLength measures the tail that may still become a stop string", () => {
    expect(stopStringPrefixLength("Hello\nUs", ["User:"])).toBe(2);
    expect(stopStringPrefixLength("Hello", ["User:"])).toBe(0);
    expect(stopStringPrefixLength("aaa", ["aab", "ab"])).toBe(2);
  });
});

describe("replaying the fixture set's generations", () => {
  let tokenizer: MambaTokenizer;
  beforeAll(() => {
    tokenizer = MambaTokenizer.fromJSON(readLlmFile("tokenizer.json"), readLlmFile("tokenizer_config.json"));
  });

  it.each(CASES.map((c) => [c.id, c] as const))("%s stops where the oracle stopped", (_, c) => {
    const stop = new StopCriteria({ eosTokenId: tokenizer.eosTokenId, maxNewTokens: c.max_new_tokens });
    const stream = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
    let count = 0;
    let result = stop.check(-1, 0, "");
    for (const id of c.greedy_ids) {
      expect(stop.canGenerate(count)).toBe(true);
      stream.push(id);
      result = stop.check(id, ++count, stream.text);
      if (result.reason) break;
    }
    expect(count).toBe(c.greedy_ids.length);
    expect(result.reason).toBe(c.stopped_on_eos ? "eos" : "max_new_tokens");
    stream.finish();
    expect(pythonStrip(stream.text)).toBe(c.greedy_text);
  });
});
