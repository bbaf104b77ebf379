import type { Command } from "commander";
import { DEFAULT_REDIS_TIMEOUT_SECONDS, type QueueConnection } from "../queue/redis-connection.js";
import { positiveInt } from "./numbers.js";

/** --redis-timeout, shared by the coordinator (`eval run --queue`) and `worker`. */
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
