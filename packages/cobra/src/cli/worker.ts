import { hostname } from "node:os";
import type { Command } from "commander";
import { parseRedisUrl } from "../queue/redis-connection.js";
import { DEFAULT_LOCK_MS, runWorker } from "../queue/worker.js";
import { Cobra } from "../runtime/load-node.js";
import { abortOnInterrupt } from "./interrupt.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";
import { positiveInt } from "./numbers.js";
import { addRedisTimeoutOption, queueConnection } from "./queue-options.js";

export function workerCommand(program: Command, io: CliIO): void {
  const cmd = program
    .command("worker")
    .description(
      "answer jobs from a BullMQ queue on Redis (`cobra eval run --queue`, `cobra batch --queue`), on any number of machines",
    )
    .requiredOption("--queue <url>", "the Redis the coordinator uses: redis://host:port[/db]")
    .requiredOption("--model <dir>", "converted model folder: the same model the run was started with")
    .option("--concurrency <n>", "jobs answered at once by this process", positiveInt, 1)
    .option(
      "--images <dir>",
      "where this machine has the images, when not at the coordinator's --images path (a batch from a list file: the list file's folder)",
    )
    .option(
      "--lock-ms <ms>",
      `a job's lock lifetime: a worker that died is noticed and its job taken back after about this (default ${DEFAULT_LOCK_MS})`,
      positiveInt,
      DEFAULT_LOCK_MS,
    );
  addRedisTimeoutOption(addModelOptions(cmd)).action(async (opts) => {
    parseRedisUrl(opts.queue); // a bad address is refused before the model folder is read
    // Ctrl-C or SIGTERM: finish the jobs in hand, then exit; a second Ctrl-C quits at once.
    const interrupt = abortOnInterrupt(io, () =>
      io.stderr("cobra worker: finishing the jobs in hand (Ctrl-C again to quit at once)\n"),
    );
    const stopped = new AbortController();
    const onTerm = () => stopped.abort();
    process.on("SIGTERM", onTerm);
    try {
      await runWorker({
        connection: queueConnection(opts.queue, opts),
        modelDir: opts.model,
        imagesDir: opts.images,
        concurrency: opts.concurrency,
        name: `${hostname()}:${process.pid}`,
        lockMs: opts.lockMs,
        loadEngine: (backend) => Cobra.load(opts.model, { ...loadOptions(opts), backend }),
        log: (line) => io.stderr(`cobra worker: ${line}\n`),
        signal: AbortSignal.any([interrupt.signal, stopped.signal]),
      });
    } finally {
      interrupt.off();
      process.off("SIGTERM", onTerm);
    }
  });
}
