// Small benchmark files in their projects' official formats, made from the fixture images, for `cobra eval`.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
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

type Py = number | string | Py[] | { [key: string]: Py };

/** A protocol-0 pickle of plain data, the way Python 2's pickle wrote REFER's refs(...).p files. */
export function pickleProtocol0(value: Py): Buffer {
  const out: string[] = [];
  const write = (v: Py): void => {
    if (typeof v === "number") out.push(Number.isInteger(v) ? `I${v}\n` : `F${v}\n`);
    else if (typeof v === "string")
      out.push(
        `V${[...v].map((c) => (c === "\\" || c === "\n" || c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c)).join("")}\n`,
      );
    else if (Array.isArray(v)) {
      out.push("(l");
      for (const item of v) {
        write(item);
        out.push("a");
      }
    } else {
      out.push("(d");
      for (const [k, item] of Object.entries(v)) {
        write(k);
        write(item);
        out.push("s");
      }
    }
  };
  write(value);
  out.push(".");
  return Buffer.from(out.join(""), "latin1");
}

export const cocoImage = (id: number) => `COCO_train2014_${String(id).padStart(12, "0")}.jpg`;

/**
 * A RefCOCO-family dataset in REFER's layout (`<dir>/<name>/refs(<splitBy>).p` + `instances.json`): one ref per
 * fixture image (image id i + 1, a box of a quarter of the image), `perRef` sentences each, in the given split.
 * The images are copied as COCO_train2014_<id>.jpg into `<dir>/train2014`.
 */
export async function writeRefer(
  dir: string,
  name: string,
  splitBy: string,
  perRef: number,
  splits: readonly string[] = ["val"],
): Promise<{ data: string; images: string }> {
  const folder = join(dir, name);
  const images = join(dir, "train2014");
  await mkdir(folder, { recursive: true });
  await mkdir(images, { recursive: true });
  const refs: Py[] = [];
  const imgs: Py[] = [];
  const anns: Py[] = [];
  let sentId = 1;
  for (const [i, file] of IMAGE_FILES.entries()) {
    const id = i + 1;
    await copyFile(join(IMAGES_DIR, file), join(images, cocoImage(id)));
    imgs.push({ id, width: 100, height: 200, file_name: cocoImage(id) });
    anns.push({ id: 1000 + id, image_id: id, bbox: [10, 20, 30, 40], category_id: 1 });
    const sentences: Py[] = [];
    for (let k = 0; k < perRef; k++) {
      const sent = `the ${OBJECTS[(i + k) % OBJECTS.length]} on the ${k % 2 ? "left" : "right"}`;
      sentences.push({ tokens: sent.split(" "), raw: sent, sent_id: sentId++, sent });
    }
    refs.push({
      sent_ids: sentences.map((s) => (s as { sent_id: number }).sent_id),
      file_name: `COCO_train2014_${String(id).padStart(12, "0")}_${1000 + id}.jpg`,
      ann_id: 1000 + id,
      ref_id: id,
      image_id: id,
      split: splits[i % splits.length],
      sentences,
      category_id: 1,
    });
  }
  await writeFile(join(folder, `refs(${splitBy}).p`), pickleProtocol0(refs));
  await writeFile(
    join(folder, "instances.json"),
    JSON.stringify({ images: imgs, annotations: anns, categories: [{ id: 1, name: "thing" }] }),
  );
  return { data: dir, images };
}
