import { join } from "node:path";
import { PyDict, type PyGlobal, UnsafePickleError, unpickle, WeightsFormatError } from "@cobra-ts/core";
import {
  AnnotationFormatError,
  Fields,
  fileExists,
  ROOT,
  readAnnotationBytes,
  readJson,
} from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import { type Box, countBoxes, normalizedBox } from "../scoring/refcoco.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { chosenSplit, partOfPool } from "./common.js";

/** Cobra's fork of vlm-evaluation generates with `max_new_tokens=128` (CobraVLM's max_length). */
const MAX_NEW_TOKENS = 128;

interface ReferDataset {
  /** The task name; also the folder name in REFER's layout (`<data>/refcoco+/refs(unc).p`). */
  name: "refcoco" | "refcoco+" | "refcocog";
  /** REFER's splitBy, as vlm-evaluation loads each: unc for RefCOCO and RefCOCO+, umd for RefCOCOg. */
  splitBy: "unc" | "umd";
  splits: readonly string[];
}

const DATASETS: readonly ReferDataset[] = [
  { name: "refcoco", splitBy: "unc", splits: ["val", "testA", "testB"] },
  { name: "refcoco+", splitBy: "unc", splits: ["val", "testA", "testB"] },
  { name: "refcocog", splitBy: "umd", splits: ["val", "test"] },
];

interface Expression {
  sentId: number;
  sentence: string;
  image: string;
  truth: Box;
}

interface Ref {
  refId: number;
  annId: number;
  imageId: number;
  split: string;
  sentences: { sentId: number; sent: string }[];
}

/** REFER's layout (`<data>/<dataset>/refs(...).p`) or the dataset's own folder given as `--data`. */
async function referFolder(dataDir: string, d: ReferDataset): Promise<string> {
  const nested = join(dataDir, d.name);
  return (await fileExists(join(nested, `refs(${d.splitBy}).p`))) ? nested : dataDir;
}

/** A pickle of plain lists, dicts, strings and numbers: every global is refused, nothing is ever executed. */
function refuseEveryGlobal(file: string) {
  return (module: string, name: string): PyGlobal => {
    throw new UnsafePickleError(
      file,
      `asks for the global "${module}.${name}"; a refs file holds only plain data`,
    );
  };
}

/** `refs(<splitBy>).p`: a pickled list of refs, read by the project's pickle interpreter. */
async function readRefs(file: string): Promise<Ref[]> {
  const bytes = await readAnnotationBytes(file, "REFER refs pickle (from the dataset's zip)");
  let value: unknown;
  try {
    value = unpickle(bytes, { file, where: "refs", resolveGlobal: refuseEveryGlobal(file) });
  } catch (e) {
    if (e instanceof WeightsFormatError)
      throw new AnnotationFormatError(file, null, e.message.replace(`${file}: `, ""));
    throw e;
  }
  if (!Array.isArray(value)) throw new AnnotationFormatError(file, null, "expected a pickled list of refs");
  const f: Fields = new Fields(file);
  return value.map((ref, i) => {
    const r = plain(ref, file, `refs[${i}]`);
    const sentences = f.field(r, "sentences", "array", `refs[${i}]`).map((s, k) => {
      const where = `refs[${i}].sentences[${k}]`;
      const sentence = plain(s, file, where);
      return {
        sentId: f.field(sentence, "sent_id", "integer", where),
        sent: f.field(sentence, "sent", "string", where),
      };
    });
    return {
      refId: f.field(r, "ref_id", "integer", `refs[${i}]`),
      annId: f.field(r, "ann_id", "integer", `refs[${i}]`),
      imageId: f.field(r, "image_id", "integer", `refs[${i}]`),
      split: f.field(r, "split", "string", `refs[${i}]`),
      sentences,
    };
  });
}

/** A pickled dict as a plain object (its keys are strings in every refs file). */
function plain(value: unknown, file: string, where: string): Record<string, unknown> {
  if (!(value instanceof PyDict)) throw new AnnotationFormatError(file, where, "expected a dict");
  return Object.fromEntries([...value.items].map(([k, v]) => [String(k), v]));
}

/** REFER.getRefIds(split=...): testA/testB match by letter, "test" any test split, train/val exactly. */
function inSplit(refSplit: string, split: string): boolean {
  if (split === "testA" || split === "testB" || split === "testC") return refSplit.includes(split.slice(-1));
  if (split === "test") return refSplit.includes("test");
  return refSplit === split;
}

async function readExpressions(dataDir: string, d: ReferDataset, split: string): Promise<Expression[]> {
  const folder = await referFolder(dataDir, d);
  const refsFile = join(folder, `refs(${d.splitBy}).p`);
  const instancesFile = join(folder, "instances.json");
  const refs = (await readRefs(refsFile)).filter((r) => inSplit(r.split, split));
  const fi: Fields = new Fields(instancesFile);
  const instances = await readJson(instancesFile, `${d.name} instances.json (from the dataset's zip)`);
  const sizes = new Map<number, [number, number]>();
  for (const [i, img] of fi.field(instances, "images", "array", ROOT).entries())
    sizes.set(fi.field(img, "id", "integer", `images[${i}]`), [
      fi.field(img, "width", "number", `images[${i}]`),
      fi.field(img, "height", "number", `images[${i}]`),
    ]);
  const boxes = new Map<number, number[]>();
  for (const [i, ann] of fi.field(instances, "annotations", "array", ROOT).entries()) {
    const bbox = fi.field(ann, "bbox", "array", `annotations[${i}]`);
    if (bbox.length !== 4 || !bbox.every((v) => typeof v === "number"))
      throw new AnnotationFormatError(
        instancesFile,
        `annotations[${i}].bbox`,
        "expected [x, y, width, height]",
      );
    boxes.set(fi.field(ann, "id", "integer", `annotations[${i}]`), bbox as number[]);
  }
  const out: Expression[] = [];
  const seen = new Set<number>();
  for (const ref of refs) {
    const bbox = boxes.get(ref.annId);
    if (!bbox)
      throw new AnnotationFormatError(
        instancesFile,
        "annotations",
        `has no id ${ref.annId} (ref ${ref.refId}'s ann_id): another dataset's file?`,
      );
    const size = sizes.get(ref.imageId);
    if (!size)
      throw new AnnotationFormatError(
        instancesFile,
        "images",
        `has no id ${ref.imageId} (ref ${ref.refId}'s image_id)`,
      );
    const truth = normalizedBox(bbox, size[0], size[1]);
    if (!truth)
      throw new AnnotationFormatError(
        instancesFile,
        `annotation ${ref.annId}.bbox`,
        `[${bbox.join(", ")}] does not fit in its ${size[0]}x${size[1]} image`,
      );
    for (const s of ref.sentences) {
      if (seen.has(s.sentId))
        throw new AnnotationFormatError(refsFile, `sent_id`, `${s.sentId} appears twice in split ${split}`);
      seen.add(s.sentId);
      out.push({
        sentId: s.sentId,
        sentence: s.sent,
        // vlm-evaluation's image path: COCO train2014 by image id.
        image: `COCO_train2014_${String(ref.imageId).padStart(12, "0")}.jpg`,
        truth,
      });
    }
  }
  return out;
}

/** Cobra's fork of vlm-evaluation: `get_bbox_refer_chat_prompt_fn`. */
export function bboxReferPrompt(sentence: string): string {
  return `\nPlease provide the bounding box coordinate of the region this sentence describes: "${sentence}"`;
}

function referTask(d: ReferDataset): EvalTask {
  return {
    name: d.name,
    splits: d.splits,

    async questions(options: LoadOptions): Promise<EvalQuestion[]> {
      const split = chosenSplit(this, options);
      return (await readExpressions(options.dataDir, d, split)).map((e) => ({
        questionId: e.sentId,
        image: e.image,
        prompt: bboxReferPrompt(e.sentence),
        answer: { kind: "generate", maxNewTokens: MAX_NEW_TOKENS },
      }));
    },

    /** vlm-evaluation shuffles the three datasets' val sets as one list (RefCOCO, RefCOCO+, RefCOCOg). */
    async slimPool(options: LoadOptions, questionCount: number) {
      const split = chosenSplit(this, options);
      const alone = `${d.name} ${split} alone`;
      if (split !== "val") return { size: questionCount, offset: 0, description: alone };
      return partOfPool(
        DATASETS,
        d,
        questionCount,
        async (other) => {
          const folder = await referFolder(options.dataDir, other);
          if (folder === options.dataDir) return null; // not in REFER's layout: no pool
          const refs = await readRefs(join(folder, `refs(${other.splitBy}).p`));
          return refs.filter((r) => r.split === "val").reduce((n, r) => n + r.sentences.length, 0);
        },
        { pool: "refcoco, refcoco+, refcocog val shuffled as one list (vlm-evaluation)", alone },
      );
    },

    async score(predictions: readonly Prediction[], options: LoadOptions): Promise<EvalMetrics> {
      const split = chosenSplit(this, options);
      const records = new Map(
        (await readExpressions(options.dataDir, d, split)).map((e) => [String(e.sentId), e]),
      );
      const pairs = matchPredictions(d.name, predictions, records, `${d.name} ${split}`).map(
        ({ answer, truth }) => ({ answer, truth: truth.truth }),
      );
      const counts = countBoxes(pairs);
      return {
        task: d.name,
        split,
        n_examples: pairs.length,
        metrics: { accuracy: pairs.length === 0 ? 0 : (100 * counts.correct) / pairs.length },
        counts,
      };
    },
  };
}

export const [refcoco, refcocoPlus, refcocog] = DATASETS.map(referTask);
