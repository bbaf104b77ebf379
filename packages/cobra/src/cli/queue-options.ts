import type { Command } from "commander";
import type { CoordinatorOptions } from "../queue/coordinator.js";
import { DEFAULT_REDIS_TIMEOUT_SECONDS, type QueueConnection } from "../queue/redis-connection.js";
import type { CliIO } from "./io.js";
import { positiveInt } from "./numbers.js";

/** --redis-timeout, shared by the coordinators (`eval run --queue`, `batch --queue`) and `worker`. */
export function addRedisTimeoutOption(cmd: Command): Command {
  return cmd.option(
    "--redis-timeout <seconds>",
    `give up (with an error, never a hang) when Redis cannot be reached for this long (default ${DEFAULT_REDIS_TIMEOUT_SECONDS})`,
    positiveInt,
  );
}

export function queueConnection(url: string, opts: Record<string, unknown>): QueueConnection {
  return { url, timeoutSeconds: (opts.redisTimeout as number | undefined) ?? DEFAULT_REDIS_TIMEOUT_SECONDS };
}

/** Without a terminal there is no bar: a coordinator says now and then how far the workers are. */
export function queueStatusLines(io: CliIO, command: string, unit: string): CoordinatorOptions["onStatus"] {
  if (io.isTTY) return undefined;
  return (s) =>
    io.stderr(
      `cobra ${command}: ${s.done} of ${s.total} ${unit} answered${s.workers === null ? "" : `, ${s.workers} workers`}\n`,
    );
}
