// Test helpers for the oracle fixture set under test: @cobra-ts/core/testing finds it ($COBRA_FIXTURES /
// $COBRA_FIXTURE_SET, default cobra-tiny; see its README.md). Dims, case ids, image names and tokenizer ids are
// read from the set's own files, never assumed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openWeights, SafetensorsFile, type WeightSource } from "@cobra-ts/core/node";
import { fixtureSet } from "@cobra-ts/core/testing";
import { parseMambaConfig } from "../config/from-json.js";
import type { MambaConfig } from "../config/mamba-config.js";

/** The fixture set's folder, with a trailing slash. */
export const FIXTURE = `${fixtureSet()}/`;
export const LLM_DIR = join(FIXTURE, "release", "llm");
export const CHECKPOINT = join(FIXTURE, "release/cobra/checkpoints/latest-checkpoint.pt");

export interface FixtureCase {
  id: string;
  image: string;
  turns: { role: "human" | "gpt"; message: string }[];
  prompt_string: string;
  greedy_text_no_cleanup: string;
  input_ids: number[];
  max_new_tokens: number;
  greedy_ids: number[];
  greedy_text: string;
  stopped_on_eos: boolean;
  step_top5: { ids: number[]; logits: number[] }[];
}

/** expected/cases.json: every case of the set, in its order. */
export const CASES: FixtureCase[] = JSON.parse(readFileSync(join(FIXTURE, "expected/cases.json"), "utf8"));

/** A case by position, wrapping around (so a suite picks distinct cases where the set has enough). */
export function caseAt(i: number): FixtureCase {
  return CASES[i % CASES.length];
}

/** The case with the longest prompt (ties: the first). */
export function longestPromptCase(): FixtureCase {
  return CASES.reduce((a, b) => (b.input_ids.length > a.input_ids.length ? b : a));
}

/** The case with the most generated ids (ties: the first). */
export function longestGenerationCase(): FixtureCase {
  return CASES.reduce((a, b) => (b.greedy_ids.length > a.greedy_ids.length ? b : a));
}

/**
 * The first position >= from whose generated id did not occur earlier in the generation: using that id as
 * the eos id stops generation exactly after position k (-1 if there is none).
 */
export function firstNewIdAt(ids: readonly number[], from: number): number {
  for (let k = from; k < ids.length; k++) if (!ids.slice(0, k).includes(ids[k])) return k;
  return -1;
}

/** A file of the set's release/llm folder. */
export function readLlmFile(name: string): string {
  return readFileSync(join(LLM_DIR, name), "utf8");
}

export function fixtureConfig(): MambaConfig {
  return parseMambaConfig(JSON.parse(readLlmFile("config.json")));
}

export function openCheckpoint(): Promise<WeightSource> {
  return openWeights(CHECKPOINT);
}

/** expected/manifest.json `dims.llm` (the oracle's record of the LM it built). */
export function manifestLlmDims(): {
  d_model: number;
  n_layer: number;
  d_state: number;
  d_conv: number;
  expand: number;
  d_inner: number;
  rms_norm_eps: number;
  dt_rank: number;
  vocab_size_config: number;
  vocab_size_padded: number;
} {
  return JSON.parse(readFileSync(join(FIXTURE, "expected/manifest.json"), "utf8")).dims.llm;
}

let expected: Promise<SafetensorsFile> | null = null;
/** expected/tensors.safetensors, opened once per test file. */
export function expectedTensors(): Promise<SafetensorsFile> {
  expected ??= SafetensorsFile.open(join(FIXTURE, "expected/tensors.safetensors"));
  return expected;
}

export async function expectedFloats(key: string): Promise<Float32Array> {
  const t = await (await expectedTensors()).read(key);
  return t.data as Float32Array;
}

/** Cases whose full prefill logits the set stores (`logits/<case>/prefill`; cobra-tiny: the first 3). */
export async function prefillLogitCases(): Promise<FixtureCase[]> {
  const file = await expectedTensors();
  return CASES.filter((c) => file.has(`logits/${c.id}/prefill`));
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

/** The projected image rows of a case as prefix embeddings [1, patches, d_model] (`projected/<image>`). */
export async function prefixOf(c: FixtureCase): Promise<{ data: Float32Array; shape: number[] }> {
  const t = await (await expectedTensors()).read(`projected/${c.image}`);
  if (t.shape.length !== 3 || t.shape[0] !== 1) throw new Error(`projected/${c.image}: shape ${t.shape}`);
  return { data: t.data as Float32Array, shape: [...t.shape] };
}

/** Prefix rows of several cases stacked into one batch [n, patches, d_model]. */
export async function stackedPrefixes(cases: readonly FixtureCase[]) {
  const parts = await Promise.all(cases.map(prefixOf));
  const [, patches, dim] = parts[0].shape;
  const data = new Float32Array(cases.length * patches * dim);
  parts.forEach((p, i) => {
    data.set(p.data, i * patches * dim);
  });
  return { data, shape: [cases.length, patches, dim] };
}

// --- the set's tokenizer files, read directly (the tests' independent source for ids) ---

interface TokenizerFile {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number> };
}

let tokenizerFile: TokenizerFile | undefined;
export function tokenizerFileJson(): TokenizerFile {
  tokenizerFile ??= JSON.parse(readLlmFile("tokenizer.json")) as TokenizerFile;
  return tokenizerFile;
}

/** Size of the tokenizer's id space: one past the largest id of its vocabulary and added tokens. */
export function tokenizerIdCount(): number {
  const t = tokenizerFileJson();
  return Math.max(...Object.values(t.model.vocab), ...t.added_tokens.map((a) => a.id)) + 1;
}

/** The id of an added token by its content (undefined if the tokenizer has none). */
export function addedTokenId(content: string): number | undefined {
  return tokenizerFileJson().added_tokens.find((a) => a.content === content)?.id;
}

/** The eos id special_tokens_map.json names. */
export function eosIdFromFiles(): number {
  const map = JSON.parse(readLlmFile("special_tokens_map.json"));
  const content = typeof map.eos_token === "string" ? map.eos_token : map.eos_token.content;
  const id = addedTokenId(content) ?? tokenizerFileJson().model.vocab[content];
  if (id === undefined) throw new Error(`eos token ${content} not in tokenizer.json`);
  return id;
}

/** The vocabulary id of a byte-level BPE token (GPT-2 `bytes_to_unicode` alphabet: space is "Ġ"). */
export function vocabId(token: string): number {
  const id = tokenizerFileJson().model.vocab[token];
  if (id === undefined) throw new Error(`tokenizer.json has no token ${JSON.stringify(token)}`);
  return id;
}

/** The vocabulary id of the single-byte token for `byte` (GPT-2 byte-level alphabet). */
export function byteTokenId(byte: number): number {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let n = 0;
  let char = "";
  for (let b = 0; b < 256; b++) {
    const c = printable(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
    if (b === byte) char = c;
  }
  return vocabId(char);
}
