// `cobra serve` as a real process: it listens, answers, and on SIGTERM stops taking requests, finishes (or
// cuts, past the grace period) the running streams cleanly, and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { startCli } from "./cli-process.js";
import { CASES, RELEASE_SOURCES } from "./fixture.js";
import { caseMessages } from "./serve-fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-serve-process-"));
  model = join(work, "cobra-tiny");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));
/** Servers this file started: a failed test must not leave one running. */
const started: ReturnType<typeof startCli>[] = [];
afterEach(() => {
  for (const cli of started.splice(0)) if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
});

async function serve(args: string[] = []) {
  const cli = startCli(["serve", "--model", model, "--port", "0", ...args]);
  started.push(cli);
  const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await cli.waitFor(/ready, serving .* as "cobra-tiny"/);
  return { cli, url };
}

/** Starts a streamed completion; resolves once its first event has arrived, with the whole text to come. */
async function startStream(url: string, maxTokens: number) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "m",
      messages: caseMessages(CASES[0]),
      max_tokens: maxTokens,
      stream: true,
    }),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const rest = (async () => {
    for (let next = await reader.read(); !next.done; next = await reader.read())
      text += decoder.decode(next.value);
    return text;
  })();
  return { rest }; // wrapped: an async function returning the promise itself would wait for it
}

describe("cobra serve process", () => {
  it("on SIGTERM finishes the running stream, refuses new connections, and exits 0", async () => {
    const { cli, url } = await serve();
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const body = await startStream(url, 400);
    cli.child.kill("SIGTERM");
    const text = await body.rest;
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    const events = text
      .split("\n\n")
      .filter(Boolean)
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)));
    expect(events.at(-1).choices[0].finish_reason).toBe("length");
    expect(await cli.exited).toBe(0);
    expect(cli.output).toMatch(/SIGTERM: finishing running answers/);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("--max-tokens-limit alone also lowers the default max_tokens to it", async () => {
    const { cli, url } = await serve(["--max-tokens-limit", "3"]);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: caseMessages(CASES[0]) }),
    });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect([answer.usage.completion_tokens, answer.choices[0].finish_reason]).toEqual([3, "length"]);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  it("past --shutdown-grace-s a running stream is cut with an error event, and the process still exits 0", async () => {
    const { cli, url } = await serve(["--shutdown-grace-s", "0", "--max-tokens-limit", "1000000"]);
    const body = await startStream(url, 1_000_000);
    cli.child.kill("SIGTERM");
    const text = await body.rest;
    const events = text.split("\n\n").filter(Boolean);
    expect(JSON.parse(events.at(-1)!.slice(6))).toEqual({
      error: expect.objectContaining({ message: "the server is shutting down", type: "server_error" }),
    });
    expect(await cli.exited).toBe(0);
  });

  it("a model folder that does not exist ends with the typed error and exit 1", async () => {
    const cli = startCli(["serve", "--model", join(work, "missing"), "--port", "0"]);
    expect(await cli.exited).toBe(1);
    expect(cli.output).toMatch(/FileNotFoundError: model manifest .* not found/);
  });
});
