import { CobraError } from "@cobra-ts/core";
import type { Command, Option } from "commander";
import type { AskOptions, ImageSession } from "../runtime/cobra.js";
import { Cobra } from "../runtime/load-node.js";
import { CHAT_HELP, parseChatLine } from "./chat-commands.js";
import { ChatInput } from "./chat-input.js";
import { cliErrorLine } from "./error-line.js";
import { addGenerationOptions, generationSettings } from "./generate.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";

export function chatCommand(program: Command, io: CliIO, backend: () => Option): void {
  addModelOptions(
    addGenerationOptions(
      program
        .command("chat")
        .description("chat about an image in the terminal or from piped lines (/help lists the commands)")
        .requiredOption("--model <dir>", "converted model folder")
        .requiredOption("--image <file>", "image file or http(s) URL")
        .addOption(backend()),
    ),
  ).action(async (opts) => {
    const cobra = await Cobra.load(opts.model, loadOptions(opts));
    try {
      let session = await cobra.look(opts.image);
      const settings = generationSettings(opts);
      const limit = cobra.settings.maxPromptLength;
      const input = new ChatInput(io);
      io.stderr("image encoded; ask away (/help lists the commands)\n");
      try {
        for (let line = await input.next(); line !== null; line = await input.next()) {
          const command = parseChatLine(line);
          if (command.kind === "quit") break;
          if (command.kind === "ask") await answer({ io, input, settings, limit }, session, command.question);
          else if (command.kind === "help") io.stderr(CHAT_HELP);
          else if (command.kind === "reset") {
            session.reset();
            io.stderr("(conversation forgotten; same image)\n");
          } else if (command.kind === "image") {
            const look = () => input.run((signal) => cobra.look(command.file, { signal }));
            const next = await turn(io, look, "(stopped; the image is still the previous one)");
            if (next) {
              session = next;
              io.stderr(`(image ${command.file} encoded; new conversation)\n`);
            }
          } else if (command.kind === "invalid") io.stderr(`${command.message}\n`);
        }
      } finally {
        input.close();
      }
    } finally {
      await cobra.release();
    }
  });
}

/** Streams one answer to stdout; Ctrl-C stops it and the stopped turn is left out of the conversation. */
async function answer(
  chat: { io: CliIO; input: ChatInput; settings: AskOptions; limit: number },
  session: ImageSession,
  question: string,
): Promise<void> {
  const { io, input, settings, limit } = chat;
  const ask = async () => {
    const dropped = session.dropOldestTurnsToFit(question, settings);
    if (dropped > 0)
      io.stderr(
        `(the conversation went over the model's limit of ${limit} prompt tokens: dropped the oldest ${dropped} question/answer pair${dropped === 1 ? "" : "s"})\n`,
      );
    await input.run(async (signal) => {
      try {
        for await (const chunk of session.askStream(question, { ...settings, signal })) io.stdout(chunk.text);
      } finally {
        io.stdout("\n"); // the answer's line ends however the answer ended
      }
    });
  };
  await turn(io, ask, "(stopped; this answer is left out of the conversation)");
}

/**
 * Runs one turn. A turn stopped with Ctrl-C (`stopped` says what that left) or failed on bad input (a typed
 * CobraError: an image that does not decode, a question too long) is reported on stderr and the chat goes on
 * (undefined is returned); any other error ends the chat.
 */
async function turn<T>(io: CliIO, run: () => Promise<T>, stopped: string): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    if (isAbort(e)) io.stderr(`${stopped}\n`);
    else if (e instanceof CobraError) io.stderr(`cobra: ${cliErrorLine(e)}\n`);
    else throw e;
    return undefined;
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}
