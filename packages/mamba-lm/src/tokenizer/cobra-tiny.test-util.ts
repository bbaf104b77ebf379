// Test-only: locates the oracle fixture set `cobra-tiny` (repository sibling ../shared/fixtures, or $COBRA_FIXTURES).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Turn } from "../prompt/prompt-builder.js";

export const FIXTURES_DIR =
  process.env.COBRA_FIXTURES ?? fileURLToPath(new URL("../../../../../shared/fixtures/", import.meta.url));
export const COBRA_TINY_DIR = join(FIXTURES_DIR, "cobra-tiny");
export const COBRA_TINY_LLM_DIR = join(COBRA_TINY_DIR, "release", "llm");

export interface CobraCase {
  id: string;
  turns: Turn[];
  prompt_string: string;
  input_ids: number[];
  max_new_tokens: number;
  greedy_ids: number[];
  greedy_text: string;
  greedy_text_no_cleanup: string;
  stopped_on_eos: boolean;
}

export function readCobraTinyCases(): CobraCase[] {
  return JSON.parse(readFileSync(join(COBRA_TINY_DIR, "expected", "cases.json"), "utf8")) as CobraCase[];
}

export function readCobraTinyLlmFile(name: string): string {
  return readFileSync(join(COBRA_TINY_LLM_DIR, name), "utf8");
}
