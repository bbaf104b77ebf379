/** The first oracle case (question, image, expected greedy answer), read from the fixtures, never hard-coded. */
import { readdirSync, readFileSync } from "node:fs";
import { parse, resolve } from "node:path";
import { FIXTURE_DIR } from "./paths";

export interface FixtureCase {
  id: string;
  image: string;
  user_message: string;
  max_new_tokens: number;
  greedy_text: string;
}

export function firstCase(): FixtureCase & { imagePath: string } {
  const cases = JSON.parse(
    readFileSync(resolve(FIXTURE_DIR, "expected/cases.json"), "utf8"),
  ) as FixtureCase[];
  const first = cases[0];
  const images = resolve(FIXTURE_DIR, "images");
  const file = readdirSync(images).find((name) => parse(name).name === first.image);
  if (!file) throw new Error(`no image named ${first.image}.* in ${images}`);
  return { ...first, imagePath: resolve(images, file) };
}
