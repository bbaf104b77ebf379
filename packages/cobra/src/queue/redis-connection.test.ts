import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { displayUrl, parseRedisUrl, redisOptions } from "./redis-connection.js";

describe("--queue addresses", () => {
  it("reads host, port, database, credentials and TLS", () => {
    expect(parseRedisUrl("redis://10.0.0.5:6380/3")).toMatchObject({ host: "10.0.0.5", port: 6380, db: 3 });
    expect(parseRedisUrl("redis://box")).toMatchObject({ host: "box", port: 6379, db: 0, tls: undefined });
    expect(parseRedisUrl("rediss://u:p%40ss@box:1/0")).toMatchObject({
      username: "u",
      password: "p@ss",
      tls: {},
    });
  });

  it("refuses what is not a redis:// address, naming the expected form", () => {
    for (const bad of ["localhost:6379", "http://box:6379", "redis://box/x"])
      expect(() => parseRedisUrl(bad)).toThrow(InvalidArgumentError);
    expect(() => parseRedisUrl("box:6379")).toThrow(/expected redis:\/\/host:port\[\/db\]/);
  });

  it("hides the password in messages", () => {
    expect(displayUrl("redis://u:secret@box:1/2")).toBe("redis://u:***@box:1/2");
  });

  it("stops reconnecting once the waits add up to the timeout (ioredis would retry forever)", () => {
    const retry = redisOptions({ url: "redis://box", timeoutSeconds: 3 }).retryStrategy as (
      t: number,
    ) => number | null;
    const waits: number[] = [];
    for (let times = 1; times < 100; times++) {
      const wait = retry(times);
      if (wait === null) break;
      waits.push(wait);
    }
    expect(waits.length).toBeLessThan(99);
    const total = waits.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(3000);
    expect(total).toBeLessThan(3000 + 1000);
  });
});
