import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../sampling/rng.js";
import { StopCriteria } from "../stop.js";
import { LLM_DIR, tokenizerIdCount } from "../test-support/fixture.js";
import { loadMambaTokenizer } from "../tokenizer/load-node.js";
import type { MambaTokenizer } from "../tokenizer/mamba-tokenizer.js";
import { GeneratedSequence } from "./sequence.js";

let tokenizer: MambaTokenizer;
beforeAll(async () => {
  tokenizer = await loadMambaTokenizer(LLM_DIR);
});

/** Logits whose greedy choice is `id`. */
function forcing(id: number): Float32Array {
  const logits = new Float32Array(tokenizerIdCount());
  logits[id] = 1;
  return logits;
}

/**
 * Greedily "generates" the given text pieces (each encoded on its own, so their leading spaces stay in the
 * tokens) and returns the delta streamed after each piece, with the final text.
 */
function run(pieces: string[], stopStrings?: string[]): { deltas: string[]; text: string } {
  const ids = pieces.map((p) => tokenizer.encode(p));
  const total = ids.reduce((n, piece) => n + piece.length, 0);
  const stop = new StopCriteria({ maxNewTokens: total, eosTokenId: null, stopStrings });
  const sequence = new GeneratedSequence([], tokenizer, stop, {});
  const rng = createRng(0);
  const deltas: string[] = [];
  for (const piece of ids) {
    let delta = "";
    for (const id of piece) if (!sequence.done) delta += sequence.next(forcing(id), rng).text;
    deltas.push(delta);
  }
  return { deltas, text: sequence.finalText };
}

describe("GeneratedSequence streams exactly its final (stripped) text", () => {
  it("drops the first token's leading space and holds trailing whitespace until text follows it", () => {
    const { deltas, text } = run([" Hello", " ", "\n", " world", "\n\n"]);
    expect(text).toBe("Hello \n world");
    expect(deltas).toEqual(["Hello", "", "", " \n world", ""]);
  });

  it("streams nothing for an answer that is only whitespace", () => {
    const { deltas, text } = run([" ", "\n", "  "]);
    expect(text).toBe("");
    expect(deltas.join("")).toBe("");
  });

  it("never streams the space before a stop string that the strip removes", () => {
    const { deltas, text } = run([" Hello", " there", " STOP", " more"], ["STOP"]);
    expect(text).toBe("Hello there");
    expect(deltas.join("")).toBe("Hello there");
  });
});
