import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";

/** The built CLI: these tests drive the real `cobra` process, as a user's shell would. */
export const BIN = join(import.meta.dirname, "../dist/cli.js");

/** A running `cobra` process with stdout and stderr merged in the order they were written. */
export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far; from a terminal without escape sequences and with "\r\n" read as "\n". */
  readonly output: string;
  write(text: string): void;
  /** Resolves once `output` (from `from` on) matches, with the match; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The exit code. */
  exited: Promise<number>;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Starts `node dist/cli.js ...args` with stdin a pipe, or with stdin/stdout/stderr a pseudo-terminal made by
 * util-linux `script` (no native module needed), whose input is then what this test writes.
 */
export function startCli(args: string[], how: "pipe" | "terminal" = "pipe"): CliProcess {
  if (!statSync(BIN, { throwIfNoEntry: false }))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child =
    how === "pipe"
      ? spawn("sh", ["-c", `exec ${command} 2>&1`], { stdio: ["pipe", "pipe", "inherit"] })
      : spawn("script", ["-q", "-e", "-c", command, "/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
  let raw = "";
  let output = "";
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    raw += chunk;
    // readline redraws its prompt with cursor escapes; the terminal echoes Enter as "\r" before "\r\n".
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes is the point
    output = how === "pipe" ? raw : raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/\r+\n/g, "\n");
    for (const l of listeners) l();
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1)));
  });
  return {
    child,
    get output() {
      return output;
    },
    write: (text) => void child.stdin!.write(text),
    waitFor(pattern, from = 0, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output.slice(from));
          if (!match) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} in the output after ${timeoutMs} ms:\n${output.slice(-2000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    exited,
  };
}

/** How a `cobra` process ended, and all it wrote. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Polled every 5 ms while the process runs; once it resolves true the process gets `killSignal`. */
  killWhen?: () => Promise<boolean>;
  /** Default SIGKILL. */
  killSignal?: NodeJS.Signals;
}

/** Runs `node dist/cli.js ...args` to its end. */
export function runCobra(args: string[], options: RunOptions = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    let timer: NodeJS.Timeout | undefined;
    const { killWhen } = options;
    if (killWhen) {
      const poll = async () => {
        if (await killWhen()) child.kill(options.killSignal ?? "SIGKILL");
        else timer = setTimeout(poll, 5);
      };
      timer = setTimeout(poll, 5);
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** `cobra batch` over a folder of images, one prompt, at most `maxNewTokens` answer tokens; `more` flags appended. */
export const batchArgs = (
  run: { model: string; images: string; prompt: string; out: string; maxNewTokens: number },
  ...more: string[]
) => [
  "batch",
  "--model",
  run.model,
  "--images",
  run.images,
  "--prompt",
  run.prompt,
  "--out",
  run.out,
  "--max-new-tokens",
  String(run.maxNewTokens),
  ...more,
];
