import { PassThrough } from "node:stream";
import type { CliIO } from "../src/cli/io.js";

/** A CliIO that keeps what the CLI writes (tests of synth and bench). */
export function captureIO(): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    isTTY: false,
    stdin: new PassThrough(),
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
  };
  return io;
}
