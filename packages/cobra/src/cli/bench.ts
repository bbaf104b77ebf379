import type { Command, Option } from "commander";
import type { CliIO } from "./io.js";
import { addModelOptions } from "./model-options.js";
import { nonNegativeInt, positiveInt } from "./numbers.js";

export function benchCommand(program: Command, io: CliIO, backend: () => Option): void {
  const cmd = program
    .command("bench")
    .description("measure load, image encode, prefill, decode and memory, against this machine's limits")
    .requiredOption("--model <dir>", "model folder (cobra convert, or cobra synth)")
    .addOption(backend())
    .option("--threads <n>", "onnxruntime intra-op threads (default: one per core)", nonNegativeInt)
    .option("--prompt-tokens <n>", "prompt tokens after the image rows", nonNegativeInt, 32)
    .option("--new-tokens <n>", "tokens to decode", positiveInt, 256)
    .option("--image-rows <n>", "image rows before the prompt for an LM-only model", nonNegativeInt, 729)
    .option("--image <file>", "image for a whole Cobra model (default: a synthetic picture)")
    .option("--bandwidth-mib <n>", "bandwidth probe buffer per thread, MiB", positiveInt, 1024)
    .option("--gemm-size <n>", "GEMM probe size n (n x n times n x n)", positiveInt, 2048)
    .option("--json", "print one JSON object");
  addModelOptions(cmd).action(async (opts) => {
    // Dev-only code, loaded on use: it stays out of the runtime's import graph.
    const [{ runBench }, { formatReport }] = await Promise.all([
      import("../bench/run-bench.js"),
      import("../bench/report.js"),
    ]);
    const report = await runBench(opts.model, {
      backend: opts.backend,
      threads: opts.threads || undefined,
      promptTokens: opts.promptTokens,
      newTokens: opts.newTokens,
      imageRows: opts.imageRows,
      image: opts.image,
      maxPixels: opts.maxPixels,
      verify: !!opts.verify,
      scan: opts.scan,
      bandwidthBytesPerThread: opts.bandwidthMib * 2 ** 20,
      gemmSize: opts.gemmSize,
      onStage: (s) => io.stderr(`bench: ${s}\n`),
    });
    io.stdout(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  });
}
