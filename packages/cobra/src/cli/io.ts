/** Where the CLI writes, so tests can run it in-process. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  isTTY: boolean;
  stdin: NodeJS.ReadableStream;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY: !!process.stderr.isTTY,
    stdin: process.stdin,
  };
}
