import { DEFAULT_MAX_PIXELS } from "@cobra-ts/vision-encoder";
import type { Command } from "commander";
import type { NodeLoadOptions } from "../runtime/load-node.js";
import { positiveInt } from "./numbers.js";

/** --verify and --max-pixels, for the commands that load a model and read an image. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option("--verify", "check every model file's sha256 against cobra.json first (reads every byte)")
    .option(
      "--max-pixels <n>",
      `largest image, width x height, to decode (default ${DEFAULT_MAX_PIXELS}, Pillow's decompression-bomb limit)`,
      positiveInt,
    );
}

export function loadOptions(opts: Record<string, unknown>): NodeLoadOptions {
  return {
    backend: opts.backend as NodeLoadOptions["backend"],
    verify: !!opts.verify,
    maxPixels: opts.maxPixels as number | undefined,
  };
}
