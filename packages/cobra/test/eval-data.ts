// Small benchmark files in their projects' official formats, made from the fixture images, for `cobra eval`.
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { IMAGE_NAMES, imagePath } from "./fixture.js";

/** The fixture images' file names: the tests' `--images` folder is the fixture's own. */
export const IMAGE_FILES = IMAGE_NAMES.map((n) => basename(imagePath(n)));
export const IMAGES_DIR = join(imagePath(IMAGE_NAMES[0]), "..");

const OBJECTS = ["dog", "cat", "rocket", "cup", "person", "car", "snowboard", "clock"];

/** `coco_pope_<split>.json` as RUCAIBox/POPE publishes it: one {question_id, image, text, label} a line. */
export function popeLines(perImage: number, images = IMAGE_FILES, start = 1): string {
  const lines: string[] = [];
  let id = start;
  for (const [i, image] of images.entries())
    for (let k = 0; k < perImage; k++) {
      const object = OBJECTS[(i + k) % OBJECTS.length];
      lines.push(
        JSON.stringify({
          question_id: id++,
          image,
          text: `Is there a ${object} in the image?`,
          label: (i + k) % 2 === 0 ? "yes" : "no",
        }),
      );
    }
  return `${lines.join("\n")}\n`;
}

/** A POPE data folder with all three splits (so --limit forms vlm-evaluation's pool). */
export async function writePope(dir: string, perImage: number, images = IMAGE_FILES): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [s, split] of ["random", "popular", "adversarial"].entries())
    await writeFile(join(dir, `coco_pope_${split}.json`), popeLines(perImage + s, images));
  return dir;
}

/** VSR's zero-shot `test.jsonl` (cambridgeltl/vsr_zeroshot): one {image, caption, label, ...} a line. */
export async function writeVsr(dir: string, perImage: number, images = IMAGE_FILES): Promise<string> {
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  for (const [i, image] of images.entries())
    for (let k = 0; k < perImage; k++) {
      const [subj, obj] = [OBJECTS[(i + k) % OBJECTS.length], OBJECTS[(i + k + 3) % OBJECTS.length]];
      const relation = k % 2 === 0 ? "left of" : "on top of";
      const caption = `The ${subj} is ${relation} the ${obj}.`;
      lines.push(JSON.stringify({ image, caption, label: (i + k) % 2, relation, subj, obj }));
    }
  await writeFile(join(dir, "test.jsonl"), `${lines.join("\n")}\n`);
  return dir;
}
