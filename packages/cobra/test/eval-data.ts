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

/**
 * The fixture images copied into `dir` under the names a benchmark gives its images (`names[i]` is fixture image
 * `i % 6`): the decoder reads the content, not the extension, so a PNG named `.jpg` is fine.
 */
export async function copyImagesAs(dir: string, names: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [i, name] of names.entries())
    await copyFile(join(IMAGES_DIR, IMAGE_FILES[i % IMAGE_FILES.length]), join(dir, name));
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
  const images = await copyImagesAs(
    join(dir, "train2014"),
    IMAGE_FILES.map((_, i) => cocoImage(i + 1)),
  );
  await mkdir(folder, { recursive: true });
  const refs: Py[] = [];
  const imgs: Py[] = [];
  const anns: Py[] = [];
  let sentId = 1;
  for (const i of IMAGE_FILES.keys()) {
    const id = i + 1;
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

/** A free-text benchmark written from the fixture images: annotations, images, question ids in file order. */
export interface FreeTextData {
  data: string;
  images: string;
  ids: (string | number)[];
  /** Each question's majority human answer (GQA: its answer), parallel to `ids`. */
  gold: string[];
}

/** Ten human answers: `majority` seven times, then `other` three times. */
const tenAnswers = (majority: string, other: string): string[] =>
  Array.from({ length: 10 }, (_, i) => (i < 7 ? majority : other));

const VQA_KINDS = [
  {
    type: "yes/no",
    prefix: "is there",
    question: (o: string) => `Is there a ${o}?`,
    answer: (k: number) => (k % 2 ? "no" : "yes"),
  },
  {
    type: "number",
    prefix: "how many",
    question: (o: string) => `How many ${o}s are there?`,
    answer: (k: number) => `${k + 1}`,
  },
  {
    type: "other",
    prefix: "what is",
    question: (o: string) => `What is next to the ${o}?`,
    answer: (k: number) => OBJECTS[k],
  },
];

/**
 * VQAv2 val as visualqa.org publishes it (`v2_OpenEnded_mscoco_val2014_questions.json`,
 * `v2_mscoco_val2014_annotations.json`), `perImage` questions on each of six COCO val2014 image ids; the images
 * are copied as `COCO_val2014_<12 digits>.jpg` into `<dir>/val2014`. Question ids are COCO's `image_id * 1000 + k`.
 */
export async function writeVqav2(dir: string, perImage: number): Promise<FreeTextData> {
  const imageIds = [42, 73, 74, 133, 136, 139];
  const coco = (id: number) => `COCO_val2014_${String(id).padStart(12, "0")}.jpg`;
  const images = await copyImagesAs(join(dir, "val2014"), imageIds.map(coco));
  const questions: Record<string, unknown>[] = [];
  const annotations: { question_id: number; multiple_choice_answer: string; [key: string]: unknown }[] = [];
  for (const [i, image_id] of imageIds.entries())
    for (let k = 0; k < perImage; k++) {
      const question_id = image_id * 1000 + k;
      const kind = VQA_KINDS[(i + k) % VQA_KINDS.length];
      const answer = kind.answer(k);
      questions.push({ image_id, question: kind.question(OBJECTS[(i + k) % OBJECTS.length]), question_id });
      annotations.push({
        question_type: kind.prefix,
        multiple_choice_answer: answer,
        // VQAv2's answer objects; "maybe" as some annotators said
        answers: tenAnswers(answer, OBJECTS[(k + 5) % OBJECTS.length]).map((a, j) => ({
          answer: a,
          answer_confidence: j % 4 === 3 ? "maybe" : "yes",
          answer_id: j + 1,
        })),
        image_id,
        answer_type: kind.type,
        question_id,
      });
    }
  const data = join(dir, "data");
  await mkdir(data, { recursive: true });
  const common = { info: { description: "fixture" }, license: { name: "fixture" }, data_subtype: "val2014" };
  await writeFile(
    join(data, "v2_OpenEnded_mscoco_val2014_questions.json"),
    JSON.stringify({ ...common, task_type: "Open-Ended", data_type: "mscoco", questions }),
  );
  await writeFile(
    join(data, "v2_mscoco_val2014_annotations.json"),
    JSON.stringify({ ...common, annotations, data_type: "mscoco" }),
  );
  return {
    data,
    images,
    ids: annotations.map((a) => a.question_id),
    gold: annotations.map((a) => a.multiple_choice_answer),
  };
}

/**
 * GQA's `testdev_balanced_questions.json` (an object keyed by question id), `perImage` questions on each of six
 * image ids (`n<digits>`), copied as `<imageId>.jpg` into `<dir>/images`. The ids are integer-like strings not
 * in numeric order, as GQA's are, so the file's own order is what the questions keep.
 */
export async function writeGqa(dir: string, perImage: number): Promise<FreeTextData> {
  const imageIds = ["n161313", "n235859", "n336443", "n15740", "n83204", "n578564"];
  const images = await copyImagesAs(
    join(dir, "images"),
    imageIds.map((id) => `${id}.jpg`),
  );
  const entries: [string, { answer: string; [key: string]: unknown }][] = [];
  for (const [i, imageId] of imageIds.entries())
    for (let k = 0; k < perImage; k++) {
      const id = `${20_000_000 - (i * perImage + k) * 7919}`;
      const object = OBJECTS[(i + k) % OBJECTS.length];
      const verify = k % 2 === 0;
      entries.push([
        id,
        {
          semantic: [{ operation: "select", dependencies: [], argument: `${object} (1)` }],
          entailed: [],
          equivalent: [id],
          question: verify ? `Is there a ${object}?` : `What color is the ${object}?`,
          imageId,
          isBalanced: k % 3 !== 2,
          groups: { global: null, local: verify ? "01-exist" : "02-color" },
          answer: verify ? (i % 2 ? "no" : "yes") : "white",
          semanticStr: `select: ${object} (1)`,
          annotations: { answer: {}, question: {}, fullAnswer: {} },
          types: verify
            ? { detailed: "existThatC", semantic: "obj", structural: "verify" }
            : { detailed: "color", semantic: "attr", structural: "query" },
          fullAnswer: verify ? `${i % 2 ? "No" : "Yes"}, there is.` : `The ${object} is white.`,
        },
      ]);
    }
  const data = join(dir, "data");
  await mkdir(data, { recursive: true });
  // JSON.stringify of an object with integer-like keys writes them in numeric order: build the text by hand.
  const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}}`;
  await writeFile(join(data, "testdev_balanced_questions.json"), text);
  return {
    data,
    images,
    ids: entries.map(([id]) => id),
    gold: entries.map(([, e]) => e.answer),
  };
}

const SHORT = "\nAnswer the question using a single word or phrase.";

/**
 * TextVQA val: `TextVQA_0.5.1_val.json` (ten answers a question) and LLaVA's `llava_textvqa_val_v051_ocr.jsonl`
 * (the question, its Rosetta OCR tokens when there are any, the short-answer line), `perImage` questions on each
 * of six OpenImages ids, copied as `<image_id>.jpg` into `<dir>/train_images`. Question ids count from 34602.
 */
export async function writeTextVqa(dir: string, perImage: number): Promise<FreeTextData> {
  const imageIds = [
    "003a8ae2ef43b901",
    "00685bc495504d61",
    "006d10667d17b924",
    "00c359f294f7dcd9",
    "0122c5279a501df2",
    "01f2c9d8ad6a0d4c",
  ];
  const images = await copyImagesAs(
    join(dir, "train_images"),
    imageIds.map((id) => `${id}.jpg`),
  );
  const data: { question_id: number; answers: string[]; [key: string]: unknown }[] = [];
  const lines: string[] = [];
  let question_id = 34602;
  for (const [i, image_id] of imageIds.entries())
    for (let k = 0; k < perImage; k++, question_id++) {
      const object = OBJECTS[(i + k) % OBJECTS.length];
      const question = `what is written on the ${object}?`;
      const ocr = (i + k) % 3 === 0 ? [] : [object.toUpperCase(), "no.", `${k + 1}`];
      const answers = tenAnswers(object, "unanswerable");
      data.push({
        question,
        image_id,
        image_classes: ["Poster"],
        flickr_original_url: `https://farm.example/${image_id}_o.jpg`,
        flickr_300k_url: `https://farm.example/${image_id}_z.jpg`,
        image_width: 1024,
        image_height: 768,
        answers,
        question_tokens: question.replace("?", "").split(" "),
        question_id,
        set_name: "val",
      });
      const text =
        ocr.length > 0 ? `${question}\nReference OCR token: ${ocr.join(", ")}${SHORT}` : question + SHORT;
      lines.push(JSON.stringify({ question_id, image: `${image_id}.jpg`, text }));
    }
  const folder = join(dir, "data");
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, "TextVQA_0.5.1_val.json"),
    JSON.stringify({ dataset_type: "val", dataset_name: "textvqa", dataset_version: "0.5.1", data }),
  );
  await writeFile(join(folder, "llava_textvqa_val_v051_ocr.jsonl"), `${lines.join("\n")}\n`);
  return { data: folder, images, ids: data.map((d) => d.question_id), gold: data.map((d) => d.answers[0]) };
}

/**
 * VizWiz val's `val.json` (a list; one question per image, ten answers, `answerable` 0/1), `count` questions on
 * images named `VizWiz_val_<8 digits>.jpg` in `<dir>/val` (the fixture images in turn). Ids are list positions.
 */
export async function writeVizwiz(dir: string, count: number): Promise<FreeTextData> {
  const names = Array.from({ length: count }, (_, i) => `VizWiz_val_${String(i).padStart(8, "0")}.jpg`);
  const images = await copyImagesAs(join(dir, "val"), names);
  const entries = names.map((image, i) => {
    const answerable = i % 3 === 2 ? 0 : 1;
    const object = OBJECTS[i % OBJECTS.length];
    return {
      image,
      question: `What is this ${i % 2 ? "product" : "thing"}?`,
      answers: tenAnswers(answerable ? object : "unanswerable", "unsuitable image").map((answer) => ({
        answer,
        answer_confidence: "yes",
      })),
      answer_type: answerable ? "other" : "unanswerable",
      answerable,
    };
  });
  const data = join(dir, "data");
  await mkdir(data, { recursive: true });
  await writeFile(join(data, "val.json"), JSON.stringify(entries));
  return { data, images, ids: names.map((_, i) => i), gold: entries.map((e) => e.answers[0].answer) };
}
