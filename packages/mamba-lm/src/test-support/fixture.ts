// Test helpers for the cobra-tiny oracle fixture (../../shared/fixtures/cobra-tiny, see its README.md).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openWeights, SafetensorsFile, type WeightSource } from "@cobra-ts/core";
import { parseMambaConfig } from "../config/from-json.js";
import type { MambaConfig } from "../config/mamba-config.js";

export const FIXTURE = `${process.env.COBRA_FIXTURES ?? fileURLToPath(new URL("../../../../../shared/fixtures/", import.meta.url))}/cobra-tiny/`;
export const CHECKPOINT = `${FIXTURE}release/cobra/checkpoints/latest-checkpoint.pt`;

export interface FixtureCase {
  id: string;
  image: string;
  prompt_string: string;
  greedy_text_no_cleanup: string;
  input_ids: number[];
  max_new_tokens: number;
  greedy_ids: number[];
  greedy_text: string;
  stopped_on_eos: boolean;
  step_top5: { ids: number[]; logits: number[] }[];
}

export const CASES: FixtureCase[] = JSON.parse(readFileSync(`${FIXTURE}expected/cases.json`, "utf8"));

export function fixtureConfig(): MambaConfig {
  return parseMambaConfig(JSON.parse(readFileSync(`${FIXTURE}release/llm/config.json`, "utf8")));
}

export function openCheckpoint(): Promise<WeightSource> {
  return openWeights(CHECKPOINT);
}

let expected: Promise<SafetensorsFile> | null = null;
/** expected/tensors.safetensors, opened once per test file. */
export function expectedTensors(): Promise<SafetensorsFile> {
  expected ??= SafetensorsFile.open(`${FIXTURE}expected/tensors.safetensors`);
  return expected;
}

export async function expectedFloats(key: string): Promise<Float32Array> {
  const t = await (await expectedTensors()).read(key);
  return t.data as Float32Array;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmax(a: ArrayLike<number>, from = 0, to = a.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}

/** The fixture's LM, converted in memory and loaded (a few tens of ms). */
export async function loadFixtureLM(
  options: import("../graph/convert.js").ConvertOptions = {},
  loadOptions: import("../model/mamba-lm.js").LoadOptions = {},
) {
  const { buildLanguageModel } = await import("../graph/convert.js");
  const { MambaLM } = await import("../model/mamba-lm.js");
  const source = await openCheckpoint();
  try {
    const { model } = await buildLanguageModel(source, fixtureConfig(), options);
    return await MambaLM.load({ model }, loadOptions);
  } finally {
    await source.close();
  }
}

/** The projected image rows of a case as prefix embeddings [1, 729, 16]. */
export async function prefixOf(c: FixtureCase) {
  return { data: await expectedFloats(`projected/${c.image}`), shape: [1, 729, 16] };
}
