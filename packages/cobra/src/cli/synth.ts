import type { Command } from "commander";
import { parsePartDtypes } from "../convert/part-dtypes.js";
import { SYNTH_PRESETS } from "../synth/presets.js";
import { blockSizeOption } from "./block-size-option.js";
import type { CliIO } from "./io.js";
import { nonNegativeInt } from "./numbers.js";
import { progressReporter } from "./progress.js";

export function synthCommand(program: Command, io: CliIO): void {
  program
    .command("synth")
    .description("write a model with random weights of the real shapes (for speed and memory benchmarks)")
    .requiredOption("--preset <name>", `model shapes: ${Object.keys(SYNTH_PRESETS).join(", ")}`)
    .requiredOption("--out <dir>", "output folder (written atomically)")
    .option("--seed <n>", "seed of the random weights", nonNegativeInt, 1)
    .option("--tokenizer <dir>", "copy tokenizer.json from this folder (default: a byte-level stand-in)")
    .option("--force", "replace a converted model in --out")
    .option(
      "--dtype <spec>",
      "storage per part: fp32, fp16, q8 or q4 for all, or lm=q4f16,vision=q8,projector=fp16 (the LM also takes q4f16; default fp32)",
      parsePartDtypes,
    )
    .addOption(blockSizeOption())
    .action(async (opts) => {
      // Dev-only code, loaded on use: it stays out of the runtime's import graph.
      const { synthesizeModel } = await import("../synth/synthesize.js");
      const bar = progressReporter(io);
      const t0 = performance.now();
      try {
        const result = await synthesizeModel(opts.preset, {
          out: opts.out,
          seed: opts.seed,
          force: !!opts.force,
          tokenizer: opts.tokenizer,
          dtypes: opts.dtype,
          blockSize: opts.blockSize,
          onProgress: (p) => bar.update(p.part, p.bytesDone, p.bytesTotal),
        });
        bar.stop();
        const seconds = ((performance.now() - t0) / 1000).toFixed(1);
        const gb = (result.weightBytes / 1e9).toFixed(2);
        io.stderr(
          `wrote ${result.preset} (${result.kind}, ${gb} GB of weights) to ${result.out} in ${seconds} s\n`,
        );
      } finally {
        bar.stop();
      }
    });
}
