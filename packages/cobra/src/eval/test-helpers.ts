import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/**
 * A temporary annotations folder per test, holding files in a benchmark's official format: a value is written
 * as JSON, a string as is (JSON Lines, broken files). Removed after each test.
 */
export function useDataDir(): (files: Record<string, unknown>) => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (files) => {
    const dir = await mkdtemp(join(tmpdir(), "cobra-eval-data-"));
    made.push(dir);
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
    }
    return dir;
  };
}

/** Ten human answers in the VQA / TextVQA / VizWiz `{answer, answer_confidence, answer_id}` shape. */
export function tenAnswers(
  answers: readonly string[],
): { answer: string; answer_confidence: string; answer_id: number }[] {
  if (answers.length !== 10) throw new Error(`expected 10 answers, got ${answers.length}`);
  return answers.map((answer, i) => ({ answer, answer_confidence: "yes", answer_id: i + 1 }));
}

/** `n` copies of `answer`. */
export const times = (n: number, answer: string): string[] => Array.from({ length: n }, () => answer);
