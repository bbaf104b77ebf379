import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { afterEach, describe, expect, it } from "vitest";
import { claimQueueRun } from "./run-identity.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
const folder = async () => {
  const d = await mkdtemp(join(tmpdir(), "cobra-queue-run-"));
  dirs.push(d);
  return d;
};
const model = { modelId: "cobra+3b", digest: "a".repeat(64) };

describe("<out>/queue.json", () => {
  it("names a new run once and the same run on every later start", async () => {
    const out = await folder();
    const first = await claimQueueRun(out, model);
    expect(first.run).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(await readFile(join(out, "queue.json"), "utf8"))).toEqual({ run: first.run, model });
    expect(await claimQueueRun(out, model)).toEqual(first);
    expect((await claimQueueRun(await folder(), model)).run).not.toBe(first.run);
  });

  it("refuses a model whose files changed since the run started, naming both", async () => {
    const out = await folder();
    await claimQueueRun(out, model);
    const other = { modelId: "cobra+3b", digest: "b".repeat(64) };
    await expect(claimQueueRun(out, other)).rejects.toThrow(InvalidArgumentError);
    await expect(claimQueueRun(out, other)).rejects.toThrow(
      /started with model cobra\+3b aaaaaaaaaaaa, --model now has cobra\+3b bbbbbbbbbbbb/,
    );
  });
});
