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
  /** The first questions of each image answered again with a full pass each (interleaved with the reuse runs). */
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

/** `engine` with the time of each image pass and of each batch's prefill and decode added to `split`. */
function timedEngine(
  engine: EvalEngine<string>,
  split: { lookMs: number; prefillMs: number; decodeMs: number },
): EvalEngine<string> {
  return {
    parts: engine.parts,
    generate: (request) => engine.generate(request),
    async look(image, options) {
      const t0 = performance.now();
      const session = await engine.look(image, options);
      split.lookMs += performance.now() - t0;
      return {
        async askEach(questions, settings) {
          const results = await session.askEach(questions, settings);
          split.prefillMs += results[0]?.timings.prefillMs ?? 0;
          split.decodeMs += Math.max(0, ...results.map((r) => r.timings.decodeMs));
          return results;
        },
      };
    },
  };
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
    const split = { lookMs: 0, prefillMs: 0, decodeMs: 0 };
    const t0 = performance.now();
    await runEval({
      task: syntheticTask(qs),
      dataDir: options.workDir,
      imagesDir,
      outDir: join(options.workDir, name),
      model: "speed",
      loadEngine: async () => timedEngine(options.engine, split),
      variant,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (split.lookMs > 0) {
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      options.onStage?.(
        `${name}: ${seconds.toFixed(1)} s: image pass ${s(split.lookMs)}, questions' prefill ${s(split.prefillMs)}, ` +
          `batched decode ${s(split.decodeMs)}`,
      );
    } else options.onStage?.(`${name}: ${seconds.toFixed(1)} s`);
    const lines = (await readFile(join(options.workDir, name, "predictions.jsonl"), "utf8"))
      .trim()
      .split("\n");
    return { seconds, answers: lines.map((l) => JSON.parse(l) as Prediction) };
  };
  // Image by image, the reuse run then the full passes of that image's first questions: on a shared machine
  // whose load drifts, both see the same conditions.
  const reuse = { questions: 0, seconds: 0, answers: new Map<unknown, string>() };
  const full = { questions: 0, seconds: 0, answers: new Map<unknown, string>() };
  for (const [i, name] of names.entries()) {
    const own = questions.filter((q) => q.image === name);
    const fullHere = Math.floor((fullCount * (i + 1)) / images) - Math.floor((fullCount * i) / images);
    for (const [into, run, qs, variant] of [
      [reuse, `reuse-${i}`, own, {}],
      [full, `full-${i}`, own.slice(0, fullHere), { image_reuse: "off" }],
    ] as const) {
      if (qs.length === 0) continue;
      const r = await timed(run, qs, variant);
      into.questions += qs.length;
      into.seconds += r.seconds;
      for (const p of r.answers) into.answers.set(p.question_id, p.answer);
    }
  }
  const same = [...full.answers].every(([id, answer]) => reuse.answers.get(id) === answer);
  const strip = ({ answers: _, ...rest }: typeof reuse) => ({
    ...rest,
    seconds_per_question: rest.seconds / rest.questions,
  });
  return {
    images,
    questions_per_image: perImage,
    max_new_tokens: maxNewTokens,
    reuse: strip(reuse),
    full: strip(full),
    speedup: full.seconds / full.questions / (reuse.seconds / reuse.questions),
    same_answers: same,
  };
}
