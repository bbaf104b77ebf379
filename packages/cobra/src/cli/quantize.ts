import type { Command } from "commander";
import { checkWritableDtypes, parsePartDtypes } from "../convert/part-dtypes.js";
import type { CliIO } from "./io.js";
import { progressReporter } from "./progress.js";

export function quantizeCommand(program: Command, io: CliIO): void {
  program
    .command("quantize")
    .description("write a converted model again with its LM at another dtype (no release files needed)")
    .requiredOption("--model <dir>", "a model folder converted at fp32 (cobra convert or cobra synth)")
    .requiredOption(
      "--dtype <spec>",
      "lm=fp16, lm=q8, lm=q4 or lm=q4f16 (the towers and projector keep their dtype)",
      parsePartDtypes,
    )
    .requiredOption("--out <dir>", "output folder (written atomically; never the --model folder)")
    .option("--force", "replace a converted model in --out; replace an --out folder that is not a model")
    .action(async (opts) => {
      checkWritableDtypes(opts.dtype.dtypes, ["lm"]);
      const { quantizeModel } = await import("../convert/quantize.js");
      const bar = progressReporter(io);
      const t0 = performance.now();
      try {
        const m = await quantizeModel(opts.model, {
          out: opts.out,
          dtypes: opts.dtype,
          force: !!opts.force,
          onProgress: (p) => bar.update(`lm ${p.item}`, p.done, p.total),
        });
        bar.stop();
        const bytes = Object.values(m.parts).reduce(
          (s, p) => s + (p?.files ?? []).reduce((t, f) => t + f.size, 0),
          0,
        );
        io.stderr(
          `wrote ${opts.out} (lm ${m.parts.lm?.dtype}, ${(bytes / 1e9).toFixed(2)} GB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        bar.stop();
      }
    });
}
