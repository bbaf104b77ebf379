import { InvalidArgumentError } from "@cobra-ts/core";
import type { Command } from "commander";
import { convertRelease } from "../convert/convert.js";
import {
  ALL_FP32,
  checkBlockSize,
  checkWritableDtypes,
  PART_NAMES,
  parsePartDtypes,
} from "../convert/part-dtypes.js";
import { RELEASES, resolvePart } from "../hub/resolve.js";
import { blockSizeOption } from "./block-size-option.js";
import type { CliIO } from "./io.js";
import { progressReporter } from "./progress.js";

export function convertCommand(program: Command, io: CliIO): void {
  program
    .command("convert")
    .description("convert the official release (local folders or hub ids) into a runtime model folder")
    .option(
      "--release <id>",
      `a known release by name (${Object.keys(RELEASES).join(", ")}): fills the four sources`,
    )
    .option("--checkpoint <dir|hub-id>", "Cobra run folder (config.json + checkpoints/latest-checkpoint.pt)")
    .option("--dino <dir|hub-id>", "timm DINOv2 folder")
    .option("--siglip <dir|hub-id>", "timm or open_clip SigLIP folder")
    .option("--llm <dir|hub-id>", "Mamba LM folder with config.json and tokenizer.json")
    .requiredOption("--out <dir>", "output folder (written atomically)")
    .option(
      "--dtype <spec>",
      "storage per part: one of fp32, fp16, q8, q4 for every part, or e.g. lm=q4f16,vision=q8,projector=fp16 (others fp32; the LM also takes q4f16)",
      parsePartDtypes,
    )
    .addOption(blockSizeOption())
    .option(
      "--force",
      "convert again even if --out holds this conversion; replace an --out folder that is not a converted model",
    )
    .action(async (opts) => {
      // before any download
      if (opts.dtype) checkWritableDtypes(opts.dtype.dtypes);
      checkBlockSize(opts.dtype?.dtypes ?? ALL_FP32, PART_NAMES, opts.blockSize);
      const release = opts.release ? RELEASES[opts.release] : undefined;
      if (opts.release && !release)
        throw new InvalidArgumentError(
          `unknown --release ${opts.release}; known: ${Object.keys(RELEASES).join(", ")}`,
        );
      const pick = (part: "checkpoint" | "dino" | "siglip" | "llm"): string | undefined =>
        opts[part] ?? release?.[part];
      for (const part of ["checkpoint", "llm"] as const)
        if (!pick(part)) throw new InvalidArgumentError(`--${part} is required (or --release)`);
      const bar = progressReporter(io);
      const download = {
        onProgress: (p: { file: string; loaded: number; total: number | null }) =>
          bar.update(p.file, p.loaded, p.total ?? p.loaded),
      };
      try {
        const resolve = async (part: "checkpoint" | "dino" | "siglip" | "llm") => {
          const source = pick(part);
          return source === undefined ? undefined : resolvePart(part, source, download);
        };
        const sources = {
          checkpoint: (await resolve("checkpoint"))!,
          dino: await resolve("dino"),
          siglip: await resolve("siglip"),
          llm: (await resolve("llm"))!,
        };
        const t0 = performance.now();
        const result = await convertRelease(sources, {
          out: opts.out,
          dtypes: opts.dtype?.dtypes,
          blockSize: opts.blockSize,
          force: !!opts.force,
          onProgress: (p) => bar.update(`${p.stage} ${p.item}`, p.done, p.total),
        });
        bar.stop();
        const seconds = ((performance.now() - t0) / 1000).toFixed(1);
        const peak = (process.resourceUsage().maxRSS / 1024).toFixed(0);
        io.stderr(
          result.converted
            ? `converted to ${result.out} in ${seconds} s (peak RSS ${peak} MB)\n`
            : `${result.out} already holds this conversion (use --force to redo it)\n`,
        );
      } finally {
        bar.stop();
      }
    });
}
