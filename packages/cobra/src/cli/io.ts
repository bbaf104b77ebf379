/** Where the CLI writes, so tests can run it in-process. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  isTTY: boolean;
  stdin: NodeJS.ReadableStream;
  /**
   * Where a line editor echoes and prompts, when stdin and stderr are a terminal (`chat` then reads Ctrl-C as a
   * key, so it reaches only this process, not a wrapper such as npx).
   */
  terminal?: NodeJS.WritableStream;
  /** Calls `handler` on each SIGINT instead of the default exit, until the returned function is called. */
  onInterrupt?(handler: () => void): () => void;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY: !!process.stderr.isTTY,
    stdin: process.stdin,
    terminal: process.stdin.isTTY && process.stderr.isTTY ? process.stderr : undefined,
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
  };
}
