import { readFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import { FileNotFoundError, InvalidArgumentError } from "@cobra-ts/core";

/**
 * Reads `--prompt-file <path>` (`-` is stdin): long prompts do not fit on a command line. The text is kept as is
 * (the prompt builder strips the ends, as the reference does); it must be UTF-8, so a stray binary file is refused
 * rather than turned into U+FFFD, and an empty one (a broken pipe) is refused rather than asked about.
 */
export async function readPromptFile(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  const name = path === "-" ? "--prompt-file - (stdin)" : `--prompt-file ${path}`;
  let bytes: Uint8Array;
  try {
    bytes = path === "-" ? await buffer(stdin) : await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(path, "--prompt-file");
    throw new InvalidArgumentError(`${name}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError(`${name}: not UTF-8 text (${bytes.length} bytes)`);
  }
  if (text.trim() === "") throw new InvalidArgumentError(`${name} is empty`);
  return text;
}
