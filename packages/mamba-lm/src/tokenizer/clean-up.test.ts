import { describe, expect, it } from "vitest";
import { cleanUpTokenizationSpaces, stableCleanUpCut } from "./clean-up.js";

describe("cleanUpTokenizationSpaces", () => {
  // Expected values from Python: transformers' clean_up_tokenization (chained str.replace).
  it.each([
    ["Hello , world !", "Hello, world!"],
    ["I do n't know .", "I don't know."],
    ["X  ' s", "X's"], // " ' " -> "'" creates " 's"
    ["a  .", "a ."], // one space per match
    ["we 're here , they 've gone ? yes !", "we're here, they've gone? yes!"],
    [" ' ' ' ", "'''"],
    ["it 's Tom 's", "it's Tom's"],
    ["I 'm", "I'm"],
  ])("%j -> %j", (input, expected) => {
    expect(cleanUpTokenizationSpaces(input)).toBe(expected);
  });
});

describe("stableCleanUpCut", () => {
  it("cuts only where the 3 characters before contain no space", () => {
    expect(stableCleanUpCut("Hello world", 0)).toBe(11);
    expect(stableCleanUpCut("Hello ", 0)).toBe(5);
    expect(stableCleanUpCut("do n", 0)).toBe(2);
    expect(stableCleanUpCut("   ", 0)).toBe(0);
    expect(stableCleanUpCut("ab", 2)).toBe(2);
  });

  it("never splits a surrogate pair", () => {
    const text = "ab😀";
    expect(stableCleanUpCut(text.slice(0, 3), 0)).toBe(2);
    expect(stableCleanUpCut(text, 0)).toBe(4);
  });
});
