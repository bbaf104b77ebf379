import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import type { ChatMessage } from "../src/runtime/request.js";
import { startCli } from "./cli-process.js";
import { CASES, imagePath, RELEASE_SOURCES } from "./fixture.js";

// A single-turn fixture case: its first answer is the official code's.
const CASE = CASES.find((c) => c.turns.length === 1)!;
const IMAGE = imagePath(CASE.image);
const READY = "image encoded; ask away (/help lists the commands)\n";
/** Prompt limit of the small-limit copy of the model: a few short turns go over it. */
const SMALL_LIMIT = 60;

let work = "";
let model = "";
let small = "";
let cobra: Cobra;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-chat-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  small = join(work, "small-limit");
  await cp(model, small, { recursive: true });
  const manifest = JSON.parse(await readFile(join(small, "cobra.json"), "utf8"));
  manifest.settings.maxPromptLength = SMALL_LIMIT;
  await writeFile(join(small, "cobra.json"), JSON.stringify(manifest));
  cobra = await Cobra.load(model);
});
afterAll(async () => {
  await cobra?.release();
  await rm(work, { recursive: true, force: true });
});

const chatArgs = (maxNewTokens: number, dir = model) => [
  "chat",
  "--model",
  dir,
  "--image",
  IMAGE,
  "--max-new-tokens",
  String(maxNewTokens),
];

/** The answers of a whole conversation, each re-run from scratch by generate() (not the chat's kept state). */
async function conversation(questions: string[], maxNewTokens: number, with_ = cobra): Promise<string[]> {
  const messages: ChatMessage[] = [];
  const answers: string[] = [];
  for (const q of questions) {
    messages.push({ role: "user", content: q });
    const { text } = await with_.generate({ image: IMAGE, messages, maxNewTokens });
    messages.push({ role: "assistant", content: text });
    answers.push(text);
  }
  return answers;
}

describe("cobra chat, input piped", () => {
  it("answers 3 piped questions in order and exits 0", async () => {
    const questions = [CASE.user_message, "Describe the colors.", "And the background?"];
    const p = startCli(chatArgs(CASE.max_new_tokens));
    p.write(`${questions.join("\n")}\n`);
    p.child.stdin!.end();
    expect(await p.exited).toBe(0);
    const answers = await conversation(questions, CASE.max_new_tokens);
    expect(answers[0]).toBe(CASE.greedy_text);
    expect(p.output).toBe(READY + answers.map((a) => `${a}\n`).join(""));
  });

  it("answers every line of a burst of 10, in order", async () => {
    const questions = Array.from({ length: 10 }, (_, i) => `Question number ${i + 1}?`);
    const p = startCli(chatArgs(8));
    p.write(`${questions.join("\n")}\n`);
    p.child.stdin!.end();
    expect(await p.exited).toBe(0);
    const answers = await conversation(questions, 8);
    expect(p.output).toBe(READY + answers.map((a) => `${a}\n`).join(""));
  });

  it("runs /help, /reset and /image and never sends them to the model", async () => {
    const other = CASES.find((c) => c.turns.length === 1 && c.image !== CASE.image)!;
    const p = startCli(chatArgs(CASE.max_new_tokens));
    const input = ["/help", "Anything?", "/reset", CASE.user_message, `/image ${imagePath(other.image)}`];
    p.write(`${[...input, other.user_message, "/nope", "/quit", "never asked"].join("\n")}\n`);
    p.child.stdin!.end();
    expect(await p.exited).toBe(0);
    const [first] = await conversation(["Anything?"], CASE.max_new_tokens);
    expect(p.output).toContain("/reset         forget the conversation");
    // After /reset the question is a first turn again: the official answer; after /image, the other image's.
    const answers = p.output
      .split("\n")
      .filter((l) => !/^(\(|image encoded|commands:| {2}|anything else|unknown command)/.test(l));
    expect(answers).toEqual([first, CASE.greedy_text, other.greedy_text, ""]);
    expect(p.output).toContain("unknown command /nope");
    expect(p.output).not.toContain("never asked");
  });
});

describe("cobra chat, interrupted", () => {
  // Long enough that Ctrl-C arrives mid-answer (the tiny model never emits eos on these prompts).
  const LONG = 1500;
  const q1 = CASE.user_message;
  const q2 = "Describe the colors.";
  let full: string[];
  beforeAll(async () => {
    // A stopped turn is left out of the conversation: the next answer is that of a first turn.
    full = [(await conversation([q1], LONG))[0], (await conversation([q2], LONG))[0]];
  });

  it("Ctrl-C in a terminal stops only the answer; the next question is answered; Ctrl-C at the prompt quits", async () => {
    const p = startCli(chatArgs(LONG), "terminal");
    await p.waitFor(/ask away/);
    let from = p.output.length;
    p.write(`${q1}\r`);
    await p.waitFor(/What is in this image\?\n[^\n]{20}/, from);
    p.write("\x03");
    const stopped = await p.waitFor(/\n\(stopped[^\n]*\n> /, from);
    const partial = p.output.slice(from).split("\n")[1];
    expect(full[0].startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(full[0].length);

    from = from + stopped.index + stopped[0].length;
    p.write(`${q2}\r`);
    await p.waitFor(/\n> $/, from);
    expect(p.output.slice(from)).toBe(`${q2}\n${full[1]}\n> `);
    p.write("\x03");
    expect(await p.exited).toBe(0);
  });

  it("SIGINT with piped input stops only the answer, then the rest of the input is answered", async () => {
    const p = startCli(chatArgs(LONG));
    p.write(`${q1}\n`);
    await p.waitFor(/ask away[^\n]*\n[^\n]{20}/);
    p.write(`${q2}\n`);
    p.child.kill("SIGINT");
    await p.waitFor(/\(stopped/);
    p.child.stdin!.end();
    expect(await p.exited).toBe(0);
    expect(p.output.endsWith(`(stopped; this answer is left out of the conversation)\n${full[1]}\n`)).toBe(
      true,
    );
  });
});

describe("cobra chat past the prompt limit", () => {
  it("drops the oldest turns with a notice and goes on; a question too long alone is refused, not fatal", async () => {
    const long = Array.from({ length: 70 }, () => "word").join(" ");
    const questions = ["What is in this image?", "Describe the colors.", "And the background?", "What else?"];
    const asked = [...questions, long, "Anything more?"];
    const p = startCli(chatArgs(8, small));
    p.write(`${asked.join("\n")}\n`);
    p.child.stdin!.end();
    expect(await p.exited).toBe(0);

    const reference = await Cobra.load(small); // generate() refuses any prompt over the limit
    try {
      const lines = p.output.split("\n");
      expect(lines.shift()).toBe(READY.trimEnd());
      const kept: ChatMessage[] = [];
      const dropped: ChatMessage[] = [];
      for (const q of asked) {
        let line = lines.shift()!;
        const notice =
          /^\(the conversation went over the model's limit of 60 prompt tokens: dropped the oldest (\d+) question\/answer pairs?\)$/.exec(
            line,
          );
        if (notice) {
          dropped.push(...kept.splice(0, 2 * Number(notice[1])));
          line = lines.shift()!;
        }
        if (q === long) {
          expect(line).toMatch(
            /^cobra: PromptTooLongError: .* over the model's limit of 60: ask a shorter one$/,
          );
          continue;
        }
        const messages = [...kept, { role: "user" as const, content: q }];
        expect(line).toBe((await reference.generate({ image: IMAGE, messages, maxNewTokens: 8 })).text);
        // No more was dropped than needed: one more pair would not have fit.
        if (notice)
          await expect(
            reference.generate({
              image: IMAGE,
              messages: [...dropped.slice(-2), ...messages],
              maxNewTokens: 8,
            }),
          ).rejects.toThrow(InvalidArgumentError);
        kept.push(messages.at(-1)!, { role: "assistant", content: line });
      }
      expect(dropped.length).toBeGreaterThan(0);
      expect(lines).toEqual([""]);
    } finally {
      await reference.release();
    }
  });
});
