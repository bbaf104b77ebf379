import { basename, resolve } from "node:path";
import type { Command, Option } from "commander";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";
import { nonNegativeInt, positiveInt } from "./numbers.js";

export function serveCommand(program: Command, io: CliIO, backend: () => Option): void {
  const cmd = program
    .command("serve")
    .description("serve the model over HTTP with OpenAI's Chat Completions API")
    .requiredOption("--model <dir>", "converted model folder")
    .option("--host <host>", "address to listen on (0.0.0.0 exposes it to the network)", "127.0.0.1")
    .option("--port <n>", "port to listen on (0: any free port)", nonNegativeInt, 8080)
    .option("--model-id <id>", "the id /v1/models lists (default: the model folder's name)")
    .option("--api-key <key>", "require 'Authorization: Bearer <key>' on /v1/* (default: $COBRA_API_KEY)")
    .option("--max-batch <n>", "most sequences decoded together", positiveInt, 8)
    .option("--max-queue <n>", "most requests waiting for a slot (429 beyond)", nonNegativeInt, 64)
    .option(
      "--state-cache-mb <n>",
      "memory for LM states after images and turns (0: off)",
      nonNegativeInt,
      1024,
    )
    .option(
      "--prefill-chunk <n>",
      "most positions one prefill call runs between decode steps (summed over the requests it batches)",
      positiveInt,
      256,
    )
    .option("--max-body-mb <n>", "largest request body (413 beyond)", positiveInt, 32)
    .option("--max-image-mb <n>", "largest encoded image", positiveInt, 20)
    .option(
      "--max-tokens <n>",
      "max_tokens of a request that gives none (at most --max-tokens-limit)",
      positiveInt,
      256,
    )
    .option(
      "--max-tokens-limit <n>",
      "the most max_tokens a request may ask (400 beyond): a Mamba answer has no context window to end it",
      positiveInt,
      4096,
    )
    .option("--image-root <dir>", "allow file:// image URLs under this folder")
    .option("--allow-remote-images", "allow http(s) image URLs (fetched with a size and time limit)")
    .option("--remote-timeout-s <n>", "longest fetch of a remote image", positiveInt, 10)
    .option(
      "--shutdown-grace-s <n>",
      "on SIGTERM/SIGINT, how long running answers may finish",
      nonNegativeInt,
      30,
    )
    .addOption(backend());
  addModelOptions(cmd).action(async (opts) => {
    // A lower limit alone lowers the default too; only a --max-tokens given over it is a mistake (the server
    // refuses it).
    if (cmd.getOptionValueSource("maxTokens") === "default")
      opts.maxTokens = Math.min(opts.maxTokens, opts.maxTokensLimit);
    // Loaded on use: the server and its framework stay out of the other commands' start-up.
    const { CobraServer } = await import("../serve/server.js");
    const { Cobra } = await import("../runtime/load-node.js");
    const server = new CobraServer({
      modelId: opts.modelId ?? basename(resolve(opts.model)),
      apiKey: opts.apiKey ?? (process.env.COBRA_API_KEY || undefined),
      maxBatch: opts.maxBatch,
      maxQueue: opts.maxQueue,
      stateCacheMb: opts.stateCacheMb,
      prefillChunk: opts.prefillChunk,
      maxBodyBytes: opts.maxBodyMb * 2 ** 20,
      defaultMaxTokens: opts.maxTokens,
      maxTokensLimit: opts.maxTokensLimit,
      images: {
        fileRoot: opts.imageRoot,
        allowRemote: !!opts.allowRemoteImages,
        maxBytes: opts.maxImageMb * 2 ** 20,
        remoteTimeoutMs: opts.remoteTimeoutS * 1000,
      },
      log: (line) => io.stderr(`${line}\n`),
    });
    // Listen first: /health answers 503 while the model loads, so a supervisor sees the server start.
    const address = await server.listen(opts.host, opts.port);
    io.stderr(
      `cobra serve: listening on http://${address.address}:${address.port} (loading ${opts.model})\n`,
    );
    const stopped = new Promise<string>((done) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => done(signal));
    });
    let cobra: Awaited<ReturnType<typeof Cobra.load>> | null = null;
    try {
      cobra = await Promise.race([Cobra.load(opts.model, loadOptions(opts)), stopped.then(() => null)]);
      if (cobra) {
        await server.setModel(cobra);
        io.stderr(`cobra serve: ready, serving ${opts.model} as "${server.modelId}"\n`);
        const signal = await stopped;
        io.stderr(`cobra serve: ${signal}: finishing running answers, then exiting\n`);
      }
    } finally {
      await server.close(opts.shutdownGraceS * 1000);
      await cobra?.release();
    }
    io.stderr("cobra serve: stopped\n");
  });
}
