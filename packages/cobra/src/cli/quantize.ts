import type { Command } from "commander";
import { parsePartDtypes } from "../convert/part-dtypes.js";
import { blockSizeOption } from "./block-size-option.js";
import type { CliIO } from "./io.js";
import { progressReporter } from "./progress.js";

export function quantizeCommand(program: Command, io: CliIO): void {
  program
    .command("quantize")
    .description("write a converted model again with parts at another dtype (no release files needed)")
    .requiredOption("--model <dir>", "a model folder converted at fp32 (cobra convert or cobra synth)")
    .requiredOption(
      "--dtype <spec>",
      "one of fp16, q8, q4 for every part, or e.g. lm=q4f16,vision=q8,projector=fp16 (the parts not named keep their dtype; the LM also takes q4f16)",
      parsePartDtypes,
    )
    .requiredOption("--out <dir>", "output folder (written atomically; never the --model folder)")
    .addOption(blockSizeOption())
    .option("--force", "replace a converted model in --out; replace an --out folder that is not a model")
    .action(async (opts) => {
      const { quantizeModel } = await import("../convert/quantize.js");
      const bar = progressReporter(io);
      const t0 = performance.now();
      try {
        const m = await quantizeModel(opts.model, {
          out: opts.out,
          dtypes: opts.dtype,
          blockSize: opts.blockSize,
          force: !!opts.force,
          onProgress: (p) => bar.update(p.item, p.done, p.total),
        });
        bar.stop();
        const parts = Object.values(m.parts);
        const bytes = parts.reduce((s, p) => s + (p?.files ?? []).reduce((t, f) => t + f.size, 0), 0);
        const dtypes = (["encoder", "projector", "lm"] as const)
          .filter((slot) => m.parts[slot])
          .map((slot) => `${slot === "encoder" ? "vision" : slot} ${m.parts[slot]?.dtype}`)
          .join(", ");
        io.stderr(
          `wrote ${opts.out} (${dtypes}, ${(bytes / 1e9).toFixed(2)} GB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        bar.stop();
      }
    });
}
