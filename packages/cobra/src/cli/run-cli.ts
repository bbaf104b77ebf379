import { CobraError, FileSystemError } from "@cobra-ts/core";
import { Command, CommanderError, Option } from "commander";
// Bundled at build time, so the built CLI reports the version it was built as.
import pkg from "../../package.json" with { type: "json" };
import { batchCommand } from "./batch.js";
import { benchCommand } from "./bench.js";
import { chatCommand } from "./chat.js";
import { convertCommand } from "./convert.js";
import { cliErrorLine } from "./error-line.js";
import { evalCommand } from "./eval.js";
import { featuresCommand } from "./features.js";
import { generateCommand } from "./generate.js";
import type { CliIO } from "./io.js";
import { processIO } from "./io.js";
import { quantizeCommand } from "./quantize.js";
import { serveCommand } from "./serve.js";
import { synthCommand } from "./synth.js";
import { verifyCommand } from "./verify.js";
import { workerCommand } from "./worker.js";

/**
 * The `cobra` command line. Returns the exit code; bad input ends with one line on stderr (the stack trace
 * too with --verbose), never an unhandled exception.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = new Command("cobra")
    .description("Cobra vision-language model: convert the release, ask about images")
    .version(pkg.version, "-V, --version", "print the version of cobra-ts")
    .option("--verbose", "print stack traces of errors")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(argv.includes("--verbose") ? s : clip(s)),
    })
    .showHelpAfterError(false);
  const backend = () =>
    new Option(
      "--backend <backend>",
      "for every part: cpu (onnxruntime-node) works everywhere; wasm is onnxruntime-web; webgpu needs a GPU adapter (Vulkan, Metal, D3D12)",
    )
      .choices(["cpu", "wasm", "webgpu"])
      .default("cpu");
  convertCommand(program, io);
  generateCommand(program, io, backend);
  batchCommand(program, io, backend);
  featuresCommand(program, io, backend);
  chatCommand(program, io, backend);
  serveCommand(program, io, backend);
  quantizeCommand(program, io);
  synthCommand(program, io);
  benchCommand(program, io, backend);
  verifyCommand(program, io);
  evalCommand(program, io);
  workerCommand(program, io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (thrown) {
    if (thrown instanceof CommanderError) return thrown.exitCode === 0 ? 0 : 1; // commander printed its line
    const e = typedSystemError(thrown);
    const verbose = argv.includes("--verbose");
    const message =
      e instanceof CobraError ? cliErrorLine(e) : `unexpected error: ${(e as Error)?.message ?? e}`;
    io.stderr(`cobra: ${verbose ? message : clip(message)}\n`);
    if (verbose && thrown instanceof Error && thrown.stack) io.stderr(`${thrown.stack}\n`);
    return e instanceof CobraError ? 1 : 2;
  }
}

/**
 * A message quoting a 50,000-character argument would bury the terminal: each overlong word keeps its two ends,
 * so the message around it (what is wrong, what to do) survives whole.
 */
function clip(message: string, keep = 100): string {
  return message.replace(
    new RegExp(`\\S{${4 * keep},}`, "g"),
    (w) =>
      `${w.slice(0, keep)}[... ${w.length - 2 * keep} characters left out; --verbose prints all ...]${w.slice(-keep)}`,
  );
}

/**
 * An error of the operating system on a path (ENAMETOOLONG for a 50,000-character --out, EACCES, ENOSPC) is
 * about the input or the machine, not a bug: it is reported as a FileSystemError with the system's own words.
 */
function typedSystemError(e: unknown): unknown {
  const { code, syscall } = (e ?? {}) as NodeJS.ErrnoException;
  if (e instanceof CobraError || typeof code !== "string" || typeof syscall !== "string") return e;
  return new FileSystemError((e as Error).message, { cause: e });
}
