import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { Fields, readJsonLines } from "../annotations.js";
import { matchPredictions } from "../scoring/match.js";
import type { EvalMetrics, EvalQuestion, EvalTask, LoadOptions, Prediction } from "../task.js";
import { choiceByProbability } from "./common.js";

/** vlm-evaluation asks for the probabilities of these two tokens (`return_string_probabilities`). */
const CHOICES = ["True", "False"] as const;
export const VSR_FILE = "test.jsonl";

interface VsrRecord {
  exampleId: number;
  image: string;
  caption: string;
  label: boolean;
}

async function readVsr(dataDir: string): Promise<VsrRecord[]> {
  const file = join(dataDir, VSR_FILE);
  const lines = await readJsonLines(file, "VSR zero-shot test file (cambridgeltl/vsr_zeroshot test.jsonl)");
  const f: Fields = new Fields(file);
  return lines.map((line, i) => {
    const where = `line ${i + 1}`;
    const label = f.field(line, "label", "integer", where);
    if (label !== 0 && label !== 1) f.fail(`${where}.label`, `expected 0 or 1, got ${label}`);
    return {
      // vlm-evaluation numbers the examples by their position in the file.
      exampleId: i,
      image: f.field(line, "image", "string", where),
      caption: f.field(line, "caption", "string", where),
      label: label === 1,
    };
  });
}

/** Cobra's fork of vlm-evaluation: `get_true_false_chat_prompt_fn`. */
export function trueFalsePrompt(caption: string): string {
  return `\nBased on the image, is this statement "True" or "False"? ${caption}\nRespond with "True" or "False" directly.`;
}

/**
 * A free-text answer (predictions of another model): "true..." or "false..." after trimming, any case. The
 * official scorer reads only probabilities; an answer that is neither counts as wrong.
 */
export function vsrTextAnswer(text: string): boolean | null {
  const t = text.trim().toLowerCase();
  return t.startsWith("true") ? true : t.startsWith("false") ? false : null;
}

/**
 * VSR zero-shot test split (`test.jsonl`, 1,222 captions), in vlm-evaluation's True/False form: the likelier of
 * the tokens "True" and "False" at the first step; accuracy is exact match (vlm-evaluation's VSRScorer).
 */
export const vsr: EvalTask = {
  name: "vsr",

  async questions(options: LoadOptions): Promise<EvalQuestion[]> {
    refuseSplit(options);
    return (await readVsr(options.dataDir)).map((r) => ({
      questionId: r.exampleId,
      image: r.image,
      prompt: trueFalsePrompt(r.caption),
      answer: { kind: "choice", choices: CHOICES },
    }));
  },

  async score(predictions: readonly Prediction[], options: LoadOptions): Promise<EvalMetrics> {
    refuseSplit(options);
    const records = new Map((await readVsr(options.dataDir)).map((r) => [String(r.exampleId), r]));
    const matched = matchPredictions("vsr", predictions, records, join(options.dataDir, VSR_FILE));
    let correct = 0;
    for (const { prediction, answer, truth } of matched) {
      const byProbability = choiceByProbability(prediction, CHOICES);
      const predicted = byProbability !== null ? byProbability === 0 : vsrTextAnswer(answer);
      if (predicted === truth.label) correct++;
    }
    return {
      task: "vsr",
      split: null,
      n_examples: matched.length,
      metrics: { accuracy: matched.length === 0 ? 0 : (100 * correct) / matched.length },
    };
  },
};

function refuseSplit(options: LoadOptions): void {
  if (options.split !== undefined)
    throw new InvalidArgumentError("vsr has one split (the zero-shot test set): leave out --split");
}
