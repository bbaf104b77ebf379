#!/usr/bin/env node
import { runCli } from "./cli/run-cli.js";

// The command line is user input, and onnxruntime-node's telemetry overflows the stack on a long one (see
// ortFor in @cobra-ts/core): the CLI never lets it start, whatever the environment says.
process.env.ORT_DISABLE_TELEMETRY = "1";
// `cobra ... | head`: the reader has what it wanted; end quietly, as Unix tools do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(0);
  });
process.exitCode = await runCli(process.argv.slice(2));
