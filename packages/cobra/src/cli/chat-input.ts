import { createInterface, type Interface } from "node:readline";
import type { CliIO } from "./io.js";

/**
 * The chat's input: every line, in order, however fast it comes (readline emits lines whether or not anyone
 * is waiting, so they are queued here), and Ctrl-C routed to what is running: it aborts the running task, or
 * ends the input when nothing runs.
 */
export class ChatInput {
  private readonly rl: Interface;
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;
  private running: AbortController | null = null;
  private readonly offInterrupt: () => void;

  constructor(private readonly io: CliIO) {
    const terminal = io.terminal;
    this.rl = createInterface({ input: io.stdin, output: terminal, terminal: terminal !== undefined });
    this.rl.setPrompt("> ");
    this.rl.on("line", (line) => this.deliver(line));
    this.rl.on("close", () => this.end());
    // On a terminal readline reads Ctrl-C as a key (raw mode); elsewhere it arrives as the SIGINT signal.
    this.rl.on("SIGINT", this.interrupt);
    this.offInterrupt = io.onInterrupt?.(this.interrupt) ?? (() => {});
  }

  /** The next line (prompting for it on a terminal), or null once the input has ended. */
  next(): Promise<string | null> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    if (this.io.terminal) this.rl.prompt(true);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Runs `task` with a signal that Ctrl-C aborts (instead of ending the chat). */
  async run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.running = controller;
    try {
      return await task(controller.signal);
    } finally {
      this.running = null;
    }
  }

  /** Stops reading; the terminal gets its normal mode back. */
  close(): void {
    this.offInterrupt();
    this.end();
    this.rl.close();
  }

  private readonly interrupt = (): void => {
    if (this.running) this.running.abort();
    else this.end();
  };

  private deliver(line: string): void {
    if (this.ended) return;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) waiting(line);
    else this.queue.push(line);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const waiting = this.waiting;
    this.waiting = null;
    // Ended at the prompt (Ctrl-D, Ctrl-C): the shell's prompt goes on a line of its own.
    if (waiting && this.io.terminal) this.io.terminal.write("\n");
    waiting?.(null);
  }
}
