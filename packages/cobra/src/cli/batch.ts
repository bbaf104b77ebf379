import { InvalidArgumentError } from "@cobra-ts/core";
import type { Command, Option } from "commander";
import { runBatch } from "../batch/run-batch.js";
import { batchQueueAnswerer } from "../queue/batch-images.js";
import { Cobra } from "../runtime/load-node.js";
import { addGenerationOptions, generationSettings } from "./generate.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";
import { positiveInt } from "./numbers.js";
import { readPromptFile } from "./prompt-file.js";
import { addRedisTimeoutOption, queueConnection, queueStatusLines } from "./queue-options.js";
import { resumableRun } from "./resumable-run.js";

export function batchCommand(program: Command, io: CliIO, backend: () => Option): void {
  const cmd = addGenerationOptions(
    program
      .command("batch")
      .description("ask one prompt about every image of a folder or list file (captioning, tagging)")
      .requiredOption("--model <dir>", "converted model folder")
      .requiredOption(
        "--images <dir|file>",
        "a folder (every image in it and its sub-folders) or a list file (one path a line, relative to its folder)",
      )
      .option("--prompt <text>", "the question asked about each image (wrapped in the chat prompt)")
      .option("--prompt-file <path>", "--prompt read from a UTF-8 file (- reads stdin)")
      .requiredOption(
        "--out <file.jsonl>",
        "one JSON line per image; started again, the same command resumes it",
      )
      .option("--batch <n>", "most images decoded together", positiveInt, 8)
      .option("--retry-errors", "try the images of the file's error lines again (those lines are dropped)")
      .option(
        "--queue <url>",
        "answer through a BullMQ queue on Redis (redis://host:port[/db]): this process enqueues a job per --batch images and writes --out, `cobra worker`s answer",
      )
      .addOption(backend()),
  );
  addRedisTimeoutOption(addModelOptions(cmd)).action(async (opts) => {
    if ((opts.prompt === undefined) === (opts.promptFile === undefined))
      throw new InvalidArgumentError("give exactly one of --prompt or --prompt-file");
    // "-" reads as stdout elsewhere; here it would quietly make a file named "-" that the user never asked for.
    if (opts.out === "-")
      throw new InvalidArgumentError(
        "--out -: cobra batch writes a file it can resume, not stdout; give a file path (and `tail -f` it to watch)",
      );
    const prompt: string =
      opts.promptFile !== undefined ? await readPromptFile(opts.promptFile, io.stdin) : opts.prompt;
    const run = resumableRun(io, "batch", "batch", "images");
    let cobra: Cobra | null = null;
    try {
      const summary = await runBatch({
        images: opts.images,
        out: opts.out,
        model: opts.model,
        prompt,
        generation: generationSettings(opts),
        batch: opts.batch,
        retryErrors: !!opts.retryErrors,
        signal: run.signal,
        answerer: opts.queue
          ? batchQueueAnswerer({
              connection: queueConnection(opts.queue, opts),
              backend: opts.backend,
              onStatus: queueStatusLines(io, "batch", "images"),
            })
          : undefined,
        loadEngine: async () => {
          cobra = await Cobra.load(opts.model, loadOptions(opts));
          return cobra;
        },
        onProgress: run.onProgress,
        log: run.log,
      });
      run.stopProgress();
      const { total, before, doneNow, errors, answerMs } = summary;
      const rate =
        doneNow > 0
          ? ` in ${(answerMs / 1000).toFixed(1)} s (${((1000 * doneNow) / answerMs).toFixed(2)} images/s)`
          : "";
      io.stdout(
        `${total} images: ${doneNow} done now${rate}, ${before} before` +
          `${errors > 0 ? `; ${errors} with an error line (--retry-errors tries them again)` : ""}\n${opts.out}\n`,
      );
    } finally {
      run.close();
      await (cobra as Cobra | null)?.release();
    }
  });
}
