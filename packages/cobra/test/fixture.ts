import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureSet } from "@cobra-ts/core/testing";

export const FIXTURE = fixtureSet();
export const RELEASE = join(FIXTURE, "release");
export const IMAGES = join(FIXTURE, "images");
export const EXPECTED_TENSORS = join(FIXTURE, "expected/tensors.safetensors");

export interface FixtureCase {
  id: string;
  image: string;
  user_message: string;
  turns: { role: "human" | "gpt"; message: string }[];
  prompt_string: string;
  input_ids: number[];
  max_new_tokens: number;
  greedy_ids: number[];
  greedy_text: string;
  step_top5: { ids: number[]; logits: number[] }[];
}

export const CASES: FixtureCase[] = JSON.parse(readFileSync(join(FIXTURE, "expected/cases.json"), "utf8"));

const IMAGES_LISTED: { name: string; file: string }[] = JSON.parse(
  readFileSync(join(FIXTURE, "expected/manifest.json"), "utf8"),
).images;

/** Every image of the fixture set, by name. */
export const IMAGE_NAMES = IMAGES_LISTED.map((i) => i.name);

export function imagePath(name: string): string {
  const entry = IMAGES_LISTED.find((i) => i.name === name);
  if (!entry) throw new Error(`the fixture set has no image named ${name}`);
  return join(IMAGES, entry.file);
}

/** What Cobra.generate takes for a case: its image, its turns, its token budget. */
export function caseRequest(c: FixtureCase) {
  return {
    image: imagePath(c.image),
    messages: c.turns.map((t) => ({ role: t.role, content: t.message })),
    maxNewTokens: c.max_new_tokens,
  };
}

export const RELEASE_SOURCES = {
  checkpoint: join(RELEASE, "cobra"),
  dino: join(RELEASE, "dino"),
  siglip: join(RELEASE, "siglip"),
  llm: join(RELEASE, "llm"),
};

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { captureIO } from "./capture-io.js";
