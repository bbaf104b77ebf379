import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EvalEngine } from "./run/answer.js";
import { runEval } from "./run/run-eval.js";
import type { EvalMetrics, EvalQuestion, EvalTask, Prediction } from "./task.js";
import { vqaPrompt } from "./tasks/pope.js";

/**
 * Seconds per question of `cobra eval run` with one image pass per image against a full `generate` per question
 * (`image_reuse=off`), on synthetic questions shaped like GQA's testdev-balanced set (about 30 short questions
 * per image, the VQA prompt, a few answer tokens).
 */
export interface ImageReuseSpeed {
  images: number;
  questions_per_image: number;
  max_new_tokens: number;
  /** Questions answered with one image pass per image, and their seconds per question. */
  reuse: { questions: number; seconds: number; seconds_per_question: number };
  /** The first questions answered again with a full pass each. */
  full: { questions: number; seconds: number; seconds_per_question: number };
  speedup: number;
  /** The answers of the questions both runs asked are the same (they must be). */
  same_answers: boolean;
}

export interface ImageReuseOptions {
  /** Where the synthetic images and both runs go. */
  workDir: string;
  engine: EvalEngine<string>;
  images?: number;
  perImage?: number;
  /** Answer tokens (a random-weight model never stops by itself; GQA's answers are 1-3 tokens). */
  maxNewTokens?: number;
  /** How many questions the full-pass run answers (it costs one whole image pass each). */
  fullQuestions?: number;
  onStage?: (stage: string) => void;
}

const OBJECTS = ["table", "chair", "man", "woman", "car", "tree", "dog", "cup", "shirt", "window"];
const TEMPLATES = [
  (a: string, b: string) => `Is the ${a} to the left or to the right of the ${b}?`,
  (a: string) => `What color is the ${a}?`,
  (a: string, b: string) => `Are there both ${a}s and ${b}s in this picture?`,
  (a: string) => `Which side of the image is the ${a} on?`,
  (a: string, b: string) => `Is the ${a} in front of the ${b}?`,
  (a: string) => `What is the ${a} made of?`,
];

/** GQA-like questions: `perImage` per image, ids as GQA spells them (strings). */
export function gqaShapedQuestions(
  images: readonly string[],
  perImage: number,
  maxNewTokens: number,
): EvalQuestion[] {
  const out: EvalQuestion[] = [];
  for (const [i, image] of images.entries())
    for (let k = 0; k < perImage; k++) {
      const a = OBJECTS[(i + k) % OBJECTS.length];
      const b = OBJECTS[(i + 3 * k + 1) % OBJECTS.length];
      out.push({
        questionId: `${20000000 + i * 1000 + k}`,
        image,
        prompt: vqaPrompt(TEMPLATES[k % TEMPLATES.length](a, b)),
        answer: { kind: "generate", maxNewTokens },
      });
    }
  return out;
}

/** A task over given questions; scored by the share of non-empty answers (only the timing matters here). */
function syntheticTask(questions: readonly EvalQuestion[]): EvalTask {
  return {
    name: "gqa-shaped",
    questions: async () => [...questions],
    score: async (predictions: readonly Prediction[]): Promise<EvalMetrics> => ({
      task: "gqa-shaped",
      split: null,
      n_examples: predictions.length,
      metrics: {
        answered:
          predictions.length === 0
            ? 0
            : (100 * predictions.filter((p) => p.answer !== "").length) / predictions.length,
      },
    }),
  };
}

/** Photo-sized (640x480) pictures, each different, written as PNG. */
async function writeImages(dir: string, count: number): Promise<string[]> {
  const sharp = (await import("sharp")).default;
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    const [w, h] = [640, 480];
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        data.set([(x + 40 * n) % 256, (y * (n + 1)) % 256, (x * y + n * 97) % 256], 3 * (y * w + x));
    const name = `synthetic-${n}.png`;
    await sharp(data, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(join(dir, name));
    names.push(name);
  }
  return names;
}

export async function measureImageReuse(options: ImageReuseOptions): Promise<ImageReuseSpeed> {
  const images = options.images ?? 2;
  const perImage = options.perImage ?? 30;
  const maxNewTokens = options.maxNewTokens ?? 4;
  const fullCount = Math.min(options.fullQuestions ?? 6, images * perImage);
  const imagesDir = join(options.workDir, "images");
  const names = await writeImages(imagesDir, images);
  const questions = gqaShapedQuestions(names, perImage, maxNewTokens);

  // Warm-up outside the clock: onnxruntime's first runs of each graph are slower.
  options.onStage?.("warm-up");
  await options.engine.generate({ image: join(imagesDir, names[0]), prompt: "Hi", maxNewTokens: 1 });

  const timed = async (name: string, qs: readonly EvalQuestion[], variant: Record<string, string>) => {
    options.onStage?.(`${name}: ${qs.length} questions`);
    const t0 = performance.now();
    await runEval({
      task: syntheticTask(qs),
      dataDir: options.workDir,
      imagesDir,
      outDir: join(options.workDir, name),
      model: "speed",
      loadEngine: async () => options.engine,
      variant,
    });
    const seconds = (performance.now() - t0) / 1000;
    const lines = (await readFile(join(options.workDir, name, "predictions.jsonl"), "utf8"))
      .trim()
      .split("\n");
    const answers = new Map(
      lines.map((l) => JSON.parse(l) as Prediction).map((p) => [p.question_id, p.answer]),
    );
    return { questions: qs.length, seconds, seconds_per_question: seconds / qs.length, answers };
  };
  const reuse = await timed("reuse", questions, {});
  const full = await timed("full", questions.slice(0, fullCount), { image_reuse: "off" });
  const same = [...full.answers].every(([id, answer]) => reuse.answers.get(id) === answer);
  const strip = ({ answers: _, ...rest }: typeof reuse) => rest;
  return {
    images,
    questions_per_image: perImage,
    max_new_tokens: maxNewTokens,
    reuse: strip(reuse),
    full: strip(full),
    speedup: full.seconds_per_question / reuse.seconds_per_question,
    same_answers: same,
  };
}
