import { FileNotFoundError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { eosIdFromFiles, FIXTURE, LLM_DIR, vocabId } from "../test-support/fixture.js";
import { loadMambaTokenizer } from "./load-node.js";

describe("loadMambaTokenizer", () => {
  it("loads tokenizer.json and tokenizer_config.json from a folder", async () => {
    const tokenizer = await loadMambaTokenizer(LLM_DIR);
    expect(tokenizer.eosTokenId).toBe(eosIdFromFiles());
    // Whole-word byte-level BPE tokens (GPT-NeoX: [1276, 310, 275, 436, 2460, 32]), looked up in tokenizer.json.
    expect(tokenizer.encode("What is in this image?")).toEqual(
      ["What", "Ġis", "Ġin", "Ġthis", "Ġimage", "?"].map(vocabId),
    );
  });

  it("names the missing file", async () => {
    await expect(loadMambaTokenizer(FIXTURE)).rejects.toThrow(FileNotFoundError);
    await expect(loadMambaTokenizer(FIXTURE)).rejects.toThrow(/tokenizer\.json/);
  });
});
