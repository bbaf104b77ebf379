import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "@cobra-ts/core";
import type { Command, Option } from "commander";
import type { GenerateRequest } from "../runtime/cobra.js";
import { Cobra } from "../runtime/load-node.js";
import type { ChatMessage } from "../runtime/request.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";
import { nonNegativeInt, parseNumber } from "./numbers.js";
import { readPromptFile } from "./prompt-file.js";

/** The sampling and length options shared by `generate` and `chat`. */
export function addGenerationOptions(cmd: Command): Command {
  return cmd
    .option("--max-new-tokens <n>", "most tokens to generate", nonNegativeInt, 256)
    .option("--do-sample", "sample instead of greedy decoding")
    .option("--temperature <t>", "sampling temperature", parseNumber)
    .option("--top-k <k>", "keep the k most likely tokens (1 = greedy)", nonNegativeInt)
    .option("--top-p <p>", "nucleus sampling mass", parseNumber)
    .option("--min-p <p>", "mamba_ssm min_p filter", parseNumber)
    .option("--repetition-penalty <r>", "penalty on tokens already seen", parseNumber)
    .option("--seed <n>", "sampler seed", nonNegativeInt);
}

export function generationSettings(opts: Record<string, unknown>) {
  return {
    maxNewTokens: opts.maxNewTokens as number,
    doSample: opts.doSample as boolean | undefined,
    temperature: opts.temperature as number | undefined,
    topK: opts.topK as number | undefined,
    topP: opts.topP as number | undefined,
    minP: opts.minP as number | undefined,
    repetitionPenalty: opts.repetitionPenalty as number | undefined,
    seed: opts.seed as number | undefined,
  };
}

async function readMessages(path: string): Promise<ChatMessage[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new InvalidArgumentError(`--messages ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(json))
    throw new InvalidArgumentError(`--messages ${path}: expected a JSON array of {role, content}`);
  return json.map((m) => ({ role: m.role, content: m.content ?? m.message }));
}

/** The 5 largest logits as [id, logit] pairs, largest first. */
export function topLogits(logits: Float32Array, k = 5): [number, number][] {
  const top: [number, number][] = [];
  for (let i = 0; i < logits.length; i++) {
    if (top.length < k || logits[i] > top[top.length - 1][1]) {
      top.push([i, logits[i]]);
      top.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      if (top.length > k) top.pop();
    }
  }
  return top;
}

export function generateCommand(program: Command, io: CliIO, backend: () => Option): void {
  const cmd = addGenerationOptions(
    program
      .command("generate")
      .description("answer a prompt about an image")
      .requiredOption("--model <dir>", "converted model folder")
      .requiredOption("--image <file>", "image file or http(s) URL")
      .option("--prompt <text>", "one user message (wrapped in the chat prompt)")
      .option("--prompt-file <path>", "--prompt read from a UTF-8 file (- reads stdin), for long prompts")
      .option("--messages <file.json>", "a chat: JSON array of {role: user|assistant, content}")
      .option("--raw-prompt <text>", "the exact prompt string")
      .option("--json", "print one JSON object instead of streaming text")
      .addOption(backend()),
  );
  addModelOptions(cmd).action(async (opts) => {
    const given = [opts.prompt, opts.promptFile, opts.messages, opts.rawPrompt];
    if (given.filter((v) => v !== undefined).length !== 1)
      throw new InvalidArgumentError(
        "give exactly one of --prompt, --prompt-file, --messages or --raw-prompt",
      );
    // The prompt is read before the model loads: a bad file fails at once, not after loading gigabytes.
    const prompt =
      opts.promptFile !== undefined ? await readPromptFile(opts.promptFile, io.stdin) : opts.prompt;
    const request: GenerateRequest<string> = {
      image: opts.image,
      ...(prompt !== undefined ? { prompt } : {}),
      ...(opts.rawPrompt !== undefined ? { rawPrompt: opts.rawPrompt } : {}),
      ...(opts.messages !== undefined ? { messages: await readMessages(opts.messages) } : {}),
      ...generationSettings(opts),
    };
    const cobra = await Cobra.load(opts.model, loadOptions(opts));
    try {
      const stream = cobra.stream(request);
      let next = await stream.next();
      while (!next.done) {
        if (!opts.json) io.stdout(next.value.text);
        next = await stream.next();
      }
      const result = next.value;
      if (opts.json)
        io.stdout(
          `${JSON.stringify({
            text: result.text,
            ids: result.ids,
            prompt_ids: result.promptIds,
            prefill_logits_top: topLogits(result.prefillLogits),
          })}\n`,
        );
      else io.stdout("\n");
    } finally {
      await cobra.release();
    }
  });
}
