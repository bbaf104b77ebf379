/** Where the CLI writes, so tests can run it in-process. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  isTTY: boolean;
  stdin: NodeJS.ReadableStream;
  /**
   * Where a line editor echoes and prompts when stdin is a terminal: stderr, or stdout when only that one is
   * a terminal. `chat` then reads Ctrl-C as a key, so it reaches only this process: as a signal it would also
   * reach a wrapper such as npx, which dies of it and leaves the chat running behind the shell.
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
    terminal: process.stdin.isTTY ? [process.stderr, process.stdout].find((s) => s.isTTY) : undefined,
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
  };
}
