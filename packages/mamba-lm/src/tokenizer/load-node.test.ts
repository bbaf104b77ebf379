import { FileNotFoundError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { COBRA_TINY_DIR, COBRA_TINY_LLM_DIR } from "./cobra-tiny.test-util.js";
import { loadMambaTokenizer } from "./load-node.js";

describe("loadMambaTokenizer", () => {
  it("loads tokenizer.json and tokenizer_config.json from a folder", async () => {
    const tokenizer = await loadMambaTokenizer(COBRA_TINY_LLM_DIR);
    expect(tokenizer.eosTokenId).toBe(0);
    expect(tokenizer.encode("What is in this image?")).toEqual([1276, 310, 275, 436, 2460, 32]);
  });

  it("names the missing file", async () => {
    await expect(loadMambaTokenizer(COBRA_TINY_DIR)).rejects.toThrow(FileNotFoundError);
    await expect(loadMambaTokenizer(COBRA_TINY_DIR)).rejects.toThrow(/tokenizer\.json/);
  });
});
