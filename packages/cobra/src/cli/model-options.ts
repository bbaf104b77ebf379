import { SCAN_FORMS, type ScanForm } from "@cobra-ts/core";
import { DEFAULT_MAX_PIXELS } from "@cobra-ts/vision-encoder";
import { type Command, Option } from "commander";
import type { NodeLoadOptions } from "../runtime/load-node.js";
import { positiveInt } from "./numbers.js";

/** --verify, --max-pixels and --scan, for the commands that load a model (and read an image). */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option("--verify", "check every model file's sha256 against cobra.json first (reads every byte)")
    .option(
      "--max-pixels <n>",
      `largest image, width x height, to decode (default ${DEFAULT_MAX_PIXELS}, Pillow's decompression-bomb limit)`,
      positiveInt,
    )
    .addOption(
      new Option(
        "--scan <form>",
        "where the LM's selective scans run: inside its onnxruntime graph, or in the @cobra-ts/scan WASM SIMD kernel between graph segments; default what cobra.json says",
      ).choices(SCAN_FORMS),
    );
}

export function loadOptions(opts: Record<string, unknown>): NodeLoadOptions {
  return {
    backend: opts.backend as NodeLoadOptions["backend"],
    verify: !!opts.verify,
    maxPixels: opts.maxPixels as number | undefined,
    scan: opts.scan as ScanForm | undefined,
  };
}
