// A real Debian redis-server for the queue tests: its own port on 127.0.0.1 and its own folder, persistence on
// (appendonly), stopped and removed after. No mock: BullMQ's Lua scripts and blocking commands run for real.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian installs it as /usr/bin/redis-server (`.ci/run` does when it is missing). */
export const REDIS_SERVER = "redis-server";

/** A port free on 127.0.0.1 now (the OS picks it; closed again for the caller to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** SIGTERM (Redis flushes its append-only file and exits), then the same server started again on its data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "cobra-redis-"));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let log = "";
  const start = () =>
    new Promise<void>((resolve, reject) => {
      log = "";
      const args = ["--port", `${port}`, "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes"];
      const proc = spawn(REDIS_SERVER, [...args, "--save", "", "--protected-mode", "no"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      const onData = (d: Buffer) => {
        log += d;
        if (/Ready to accept connections/.test(log)) resolve();
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      proc.once("error", reject);
      proc.once("exit", (code) =>
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)),
      );
    });
  const stopServer = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async restart() {
      await stopServer();
      await start();
    },
    async stop() {
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
