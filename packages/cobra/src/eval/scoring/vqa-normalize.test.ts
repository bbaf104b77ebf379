import { pythonSplit } from "@cobra-ts/mamba-lm";
import { describe, expect, it } from "vitest";
import { VIZWIZ_CONTRACTIONS, VQA_CONTRACTIONS } from "./contractions.js";
import { flattenAnswer, MMF_COMMA, processDigitArticle, processPunctuation } from "./vqa-normalize.js";

// Expected values follow vqaEval.py's processPunctuation / processDigitArticle read line by line.
describe("processPunctuation", () => {
  it("replaces a mark by a space unless it touches a space", () => {
    // "-" has no space beside it: replace(p, " ").
    expect(processPunctuation("left-right")).toBe("left right");
    // "(" and ")" touch no space: both become spaces.
    expect(processPunctuation("(cat)")).toBe(" cat ");
    // " ," is in the text, so "," is deleted; "!" touches no space and becomes a space.
    expect(processPunctuation("hello , world!")).toBe("hello  world ");
  });

  it("deletes every mark once the text has digit,comma,digit", () => {
    // commaStrip matches "1,0": "," and "?" are deleted, then the final "." (no digit after it) goes.
    expect(processPunctuation("1,000 dogs?.")).toBe("1000 dogs");
  });

  it("keeps periods before a digit and removes only the first 32 others (re.UNICODE as sub's count)", () => {
    expect(processPunctuation("3.5 ft.")).toBe("3.5 ft");
    expect(processPunctuation(".".repeat(33))).toBe(".");
  });

  it("mmf's comma pattern also takes a run of commas between digits", () => {
    // VQA's (\d)(,)(\d) does not match "1,,2", so "," (no space beside it) becomes a space twice.
    expect(processPunctuation("1,,2")).toBe("1  2");
    // mmf's (?<=\d)(,)+(?=\d) matches, so the commas are deleted.
    expect(processPunctuation("1,,2", MMF_COMMA)).toBe("12");
  });
});

describe("processDigitArticle", () => {
  it("lowercases, maps number words, drops articles, expands contractions", () => {
    expect(processDigitArticle("The Two dogs", VQA_CONTRACTIONS)).toBe("2 dogs");
    expect(processDigitArticle("none", VQA_CONTRACTIONS)).toBe("0");
    expect(processDigitArticle("dont know", VQA_CONTRACTIONS)).toBe("don't know");
    // The table's "Im" key is capitalized and the text is lowercased first: it never applies.
    expect(processDigitArticle("Im", VQA_CONTRACTIONS)).toBe("im");
    // Python's split() also splits on U+3000; "an" is an article.
    expect(processDigitArticle("an apple\u3000 x", VQA_CONTRACTIONS)).toBe("apple x");
    // Keys of Object.prototype are not table entries.
    expect(processDigitArticle("constructor", VQA_CONTRACTIONS)).toBe("constructor");
  });

  it("VizWiz's table writes backticks", () => {
    expect(processDigitArticle("dont", VIZWIZ_CONTRACTIONS)).toBe("don`t");
    // ...except in a few entries, which kept the apostrophe.
    expect(processDigitArticle("weve", VIZWIZ_CONTRACTIONS)).toBe("we've");
  });
});

describe("python text helpers", () => {
  it("flattens newlines and tabs and strips like Python", () => {
    expect(flattenAnswer(" a\tb\nc \x1c")).toBe("a b c");
  });

  it("splits on runs of Python whitespace", () => {
    expect(pythonSplit("  a \x1c b  ")).toEqual(["a", "b"]);
    expect(pythonSplit(" \t")).toEqual([]);
  });
});
