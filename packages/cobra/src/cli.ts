#!/usr/bin/env node
import { runCli } from "./cli/run-cli.js";

// The command line is user input, and onnxruntime-node's telemetry overflows the stack on a long one (see
// ortFor in @cobra-ts/core): the CLI never lets it start, whatever the environment says.
process.env.ORT_DISABLE_TELEMETRY = "1";
process.exitCode = await runCli(process.argv.slice(2));
