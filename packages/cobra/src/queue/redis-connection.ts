import { InvalidArgumentError } from "@cobra-ts/core";
import type { RedisOptions } from "bullmq";
import { Redis } from "ioredis";
import { QueueConnectionError } from "./errors.js";

/** Where the queue lives and how long a lost connection is retried before the process gives up. */
export interface QueueConnection {
  url: string;
  /** Seconds: the first connection must succeed within this, and a lost one come back within it. */
  timeoutSeconds: number;
}

export const DEFAULT_REDIS_TIMEOUT_SECONDS = 15;

/** `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) as ioredis options. */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`--queue ${JSON.stringify(url)}: expected redis://host:port[/db]`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new InvalidArgumentError(`--queue ${JSON.stringify(url)}: expected redis://host:port[/db]`);
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    throw new InvalidArgumentError(`--queue ${JSON.stringify(url)}: the database after "/" must be a number`);
  return {
    host: parsed.hostname || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 6379,
    db: db === "" ? 0 : Number(db),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === "rediss:" ? {} : undefined,
  };
}

/** The url without its password, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * ioredis options for BullMQ and for our own client. ioredis reconnects forever by default, which would leave a
 * worker or coordinator hanging silently on a Redis that is gone: reconnecting stops once the delays add up to
 * the timeout, and the commands waiting then fail.
 */
export function redisOptions(connection: QueueConnection): RedisOptions {
  const limitMs = connection.timeoutSeconds * 1000;
  const delay = (times: number) => Math.min(times * 200, 1000);
  return {
    ...parseRedisUrl(connection.url),
    maxRetriesPerRequest: null, // BullMQ's blocking commands need it; the retry strategy bounds the wait instead
    connectTimeout: Math.min(limitMs, 10_000),
    retryStrategy: (times) => {
      let waited = 0;
      for (let t = 1; t < times; t++) waited += delay(t);
      return waited >= limitMs ? null : delay(times);
    },
  };
}

/**
 * A connected client, or a QueueConnectionError once the timeout has passed without one (never a hang).
 * `onLost` is called if the connection is lost for longer than the timeout later.
 */
export async function connectRedis(
  connection: QueueConnection,
  onLost?: (error: QueueConnectionError) => void,
): Promise<Redis> {
  const client = new Redis({ ...redisOptions(connection), lazyConnect: true });
  let lastError = "no answer";
  client.on("error", (e: Error) => {
    lastError = (e as NodeJS.ErrnoException).code ?? e.message;
  });
  const where = displayUrl(connection.url);
  const unreachable = () =>
    new QueueConnectionError(
      `cannot reach Redis at ${where} (${lastError}) for ${connection.timeoutSeconds} s: start redis-server ` +
        "there, or check the --queue address and that the port is open to this machine",
    );
  let timer: NodeJS.Timeout | undefined;
  try {
    // Retried (a Redis still starting is waited for) until ready, or until the retries or the time run out.
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(unreachable()), connection.timeoutSeconds * 1000);
      client.once("ready", resolve);
      client.once("end", () => reject(unreachable()));
      client.connect().catch(() => {});
    });
  } catch (e) {
    client.disconnect();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  client.on("end", () => onLost?.(unreachable()));
  return client;
}
