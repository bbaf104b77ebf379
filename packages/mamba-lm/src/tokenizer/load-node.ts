// Node-only: reads tokenizer files from disk. Browsers fetch the JSON themselves and call MambaTokenizer.fromJSON.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FileNotFoundError } from "@cobra-ts/core";
import { MambaTokenizer } from "./mamba-tokenizer.js";

/**
 * Loads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from a folder, e.g. the
 * `xiuyul/mamba-2.8b-zephyr` download or a converted model folder.
 */
export async function loadMambaTokenizer(folder: string): Promise<MambaTokenizer> {
  const tokenizerJson = await readText(join(folder, "tokenizer.json"));
  if (tokenizerJson === undefined)
    throw new FileNotFoundError(join(folder, "tokenizer.json"), "tokenizer file");
  const tokenizerConfig = await readText(join(folder, "tokenizer_config.json"));
  return MambaTokenizer.fromJSON(tokenizerJson, tokenizerConfig);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
