// `cobra serve` driven by the official openai client: OpenAI's shapes, the oracle's greedy answers, errors.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cobra } from "../src/runtime/load-node.js";
import { CobraServer } from "../src/serve/server.js";
import { CASES, caseRequest, imagePath } from "./fixture.js";
import {
  caseMessages,
  convertedTinyModel,
  dataUrl,
  metric,
  SERVE_DEFAULTS,
  startServer,
} from "./serve-fixture.js";

let cobra: Cobra;
let cleanup: () => Promise<void>;
let served: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  ({ cobra, cleanup } = await convertedTinyModel());
  served = await startServer(cobra);
});
afterAll(async () => {
  await served?.close();
  await cleanup?.();
});

const finishOf = (ids: number[]) => (ids.at(-1) === 0 ? "stop" : "length");

describe("GET /health and /v1/models", () => {
  it("health is ok once the model is loaded; the model list has the served id", async () => {
    const health = await fetch(`${served.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const models = await served.client.models.list();
    expect(models.data.map((m) => [m.id, m.object, m.owned_by])).toEqual([
      ["cobra-tiny", "model", "cobra-ts"],
    ]);
  });

  it("health is 503 while the model loads", async () => {
    const loading = new CobraServer(SERVE_DEFAULTS);
    const { port } = await loading.listen("127.0.0.1", 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(503);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "x", maxRetries: 0 });
      const err = await client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "hi" }] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.status).toBe(503);
    } finally {
      await loading.close(0);
    }
  });
});

describe("POST /v1/chat/completions answers every fixture case like the oracle", () => {
  for (const c of CASES)
    it(`${c.id}: non-streaming chat.completion with the greedy text and usage`, async () => {
      const res = await served.client.chat.completions.create({
        model: "anything",
        messages: caseMessages(c),
        max_tokens: c.max_new_tokens,
      });
      expect(res.object).toBe("chat.completion");
      expect(res.id).toMatch(/^chatcmpl-/);
      expect(res.model).toBe("anything");
      expect(res.choices).toHaveLength(1);
      expect(res.choices[0].index).toBe(0);
      expect(res.choices[0].message.role).toBe("assistant");
      expect(res.choices[0].message.content).toBe(c.greedy_text);
      expect(res.choices[0].finish_reason).toBe(finishOf(c.greedy_ids));
      expect(res.usage).toEqual({
        prompt_tokens: c.input_ids.length,
        completion_tokens: c.greedy_ids.length,
        total_tokens: c.input_ids.length + c.greedy_ids.length,
      });
    });

  for (const c of CASES)
    it(`${c.id}: streamed chunks add up to the greedy text; include_usage adds the usage chunk`, async () => {
      const stream = await served.client.chat.completions.create({
        model: "cobra-tiny",
        messages: caseMessages(c),
        max_completion_tokens: c.max_new_tokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
      expect(new Set(chunks.map((x) => x.id)).size).toBe(1);
      expect(chunks.every((x) => x.object === "chat.completion.chunk")).toBe(true);
      const text = chunks.map((x) => x.choices[0]?.delta.content ?? "").join("");
      expect(text).toBe(c.greedy_text);
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage?.completion_tokens).toBe(c.greedy_ids.length);
      const finishing = chunks.at(-2)!;
      expect(finishing.choices[0]).toMatchObject({ delta: {}, finish_reason: finishOf(c.greedy_ids) });
      expect(chunks.slice(0, -2).every((x) => x.choices[0].finish_reason === null && x.usage === null)).toBe(
        true,
      );
    });

  it("the raw stream is OpenAI's server-sent events, ending in data: [DONE]", async () => {
    const c = CASES[0];
    const res = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: caseMessages(c), max_tokens: 4, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    const events = body.split("\n\n").filter(Boolean);
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(parsed.every((p) => !("usage" in p))).toBe(true);
    expect(parsed.at(-1).choices[0].finish_reason).toBe("length");
  });
});

describe("answers equal cobra generate for the same request", () => {
  it("seeded sampling (temperature, top_p, seed)", async () => {
    const c = CASES[1];
    for (const seed of [1, 2]) {
      const res = await served.client.chat.completions.create({
        model: "m",
        messages: caseMessages(c),
        max_tokens: 20,
        temperature: 0.8,
        top_p: 0.9,
        seed,
      });
      const alone = await cobra.generate({
        ...caseRequest(c),
        maxNewTokens: 20,
        doSample: true,
        topK: 0,
        temperature: 0.8,
        topP: 0.9,
        seed,
      });
      expect(res.choices[0].message.content).toBe(alone.text);
      expect(res.usage?.completion_tokens).toBe(alone.ids.length);
    }
  });

  it("a stop string cuts the answer and finishes with stop", async () => {
    const c = CASES[0];
    const word = c.greedy_text.split(" ")[3];
    const res = await served.client.chat.completions.create({
      model: "m",
      messages: caseMessages(c),
      max_tokens: c.max_new_tokens,
      stop: [word],
    });
    const alone = await cobra.generate({ ...caseRequest(c), stopStrings: [word] });
    expect(res.choices[0].message.content).toBe(alone.text);
    expect(c.greedy_text.startsWith(alone.text)).toBe(true);
    expect(res.choices[0].finish_reason).toBe("stop");
  });

  it("a text-only chat is answered like the LM alone on the prompt", async () => {
    const res = await served.client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Hello there" }],
      max_tokens: 8,
    });
    const { generate } = await import("@cobra-ts/mamba-lm");
    const prompt = cobra.promptString({ messages: [{ role: "user", content: "Hello there" }] });
    const alone = await generate(cobra.parts.lm, cobra.parts.tokenizer, prompt, { maxNewTokens: 8 });
    expect(res.choices[0].message.content).toBe(alone.text);
  });
});

describe("errors come back in OpenAI's shape and status, as the client's error classes", () => {
  const ask = (body: Record<string, unknown>) =>
    served.client.chat.completions.create(body as never).then(
      () => null,
      (e) => e,
    );
  const image = () => ({ type: "image_url", image_url: { url: dataUrl(imagePath("gray")) } });

  it.each([
    ["messages", { model: "m" }],
    ["model", { messages: [{ role: "user", content: "hi" }] }],
    ["messages", { model: "m", messages: [] }],
    ["messages[0].role", { model: "m", messages: [{ role: "robot", content: "hi" }] }],
    ["temperature", { model: "m", messages: [{ role: "user", content: "hi" }], temperature: "hot" }],
    ["max_tokens", { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 0 }],
    ["n", { model: "m", messages: [{ role: "user", content: "hi" }], n: 2 }],
    ["messages[0].role", { model: "m", messages: [{ role: "system", content: "be nice" }] }],
    ["messages[0].content", { model: "m", messages: [{ role: "user", content: [{ type: "video" }] }] }],
    [
      "messages[1].role",
      {
        model: "m",
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ],
      },
    ],
    ["messages[0].content[1]", { model: "m", messages: [{ role: "user", content: [image(), image()] }] }],
  ])("a 400 naming %s (case %#)", async (param, body) => {
    const err = await ask(body);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.type).toBe("invalid_request_error");
    expect(err.error).toEqual({
      message: expect.any(String),
      type: "invalid_request_error",
      param,
      code: err.code ?? null,
    });
  });

  it("bad JSON is a 400 in OpenAI's shape", async () => {
    const res = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/JSON/);
  });

  it("an undecodable image is a 400 naming its field; the server goes on serving", async () => {
    const err = await ask({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            {
              type: "image_url",
              image_url: { url: `data:image/png;base64,${Buffer.from("not a png").toString("base64")}` },
            },
          ],
        },
      ],
    });
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("messages[0].content[1].image_url.url");
    expect(err.code).toBe("invalid_image");
    const ok = await served.client.chat.completions.create({
      model: "m",
      messages: caseMessages(CASES[0]),
      max_tokens: 2,
    });
    expect(ok.choices[0].message.content).toBe(
      (await cobra.generate({ ...caseRequest(CASES[0]), maxNewTokens: 2 })).text,
    );
  });

  it("a streamed request with an undecodable image still gets its 400 (nothing is sent before the first token)", async () => {
    const err = await served.client.chat.completions
      .create({
        model: "m",
        stream: true,
        messages: [
          {
            role: "user",
            content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }],
          },
        ],
      })
      .then(
        () => null,
        (e) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe("invalid_image");
  });

  it("max_tokens or max_completion_tokens over the limit is a 400 naming the field; the limit itself is served", async () => {
    const hi = [{ role: "user", content: "hi" }] as never;
    const limited = await startServer(cobra, { maxTokensLimit: 2, defaultMaxTokens: 2 });
    try {
      const over = await limited.client.chat.completions
        .create({ model: "m", messages: hi, max_tokens: 3 })
        .then(
          () => null,
          (e) => e,
        );
      expect(over).toBeInstanceOf(OpenAI.BadRequestError);
      expect([over.param, over.message]).toEqual([
        "max_tokens",
        "400 max_tokens is 3, over this server's limit of 2 (cobra serve --max-tokens-limit)",
      ]);
      const overNew = await limited.client.chat.completions
        .create({ model: "m", messages: hi, max_completion_tokens: 1e9, max_tokens: 2 })
        .then(
          () => null,
          (e) => e,
        );
      expect(overNew?.param).toBe("max_completion_tokens");
      const at = await limited.client.chat.completions.create({ model: "m", messages: hi, max_tokens: 2 });
      expect(at.usage?.completion_tokens).toBe(2);
    } finally {
      await limited.close();
    }
    // a default over the limit would refuse every request that gives none: refused when the server is made
    expect(() => new CobraServer({ ...SERVE_DEFAULTS, defaultMaxTokens: 3, maxTokensLimit: 2 })).toThrow(
      /^--max-tokens 3 is over --max-tokens-limit 2: every request without max_tokens would be refused$/,
    );
  });

  it("a prompt over the model's limit is a 400 with code context_length_exceeded", async () => {
    const err = await ask({ model: "m", messages: [{ role: "user", content: "word ".repeat(3000) }] });
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe("context_length_exceeded");
    expect(err.message).toMatch(/the prompt is \d+ tokens, over maxPromptLength 2048 .*; shorten it$/);
    expect(err.message).not.toMatch(/promptOverflow/); // a library option, not a request field
  });

  it("an unknown route is a 404 NotFoundError", async () => {
    const err = await served.client.get("/nothing-here").then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("unknown_url");
  });

  it("remote images are refused unless --allow-remote-images; file: URLs only under --image-root", async () => {
    const text = { type: "text", text: "hi" };
    const remote = await ask({
      model: "m",
      messages: [
        {
          role: "user",
          content: [text, { type: "image_url", image_url: { url: "http://127.0.0.1:9/x.png" } }],
        },
      ],
    });
    expect(remote).toBeInstanceOf(OpenAI.BadRequestError);
    expect(remote.message).toMatch(/--allow-remote-images/);
    const file = await ask({
      model: "m",
      messages: [
        {
          role: "user",
          content: [text, { type: "image_url", image_url: { url: `file://${imagePath("gray")}` } }],
        },
      ],
    });
    expect(file.message).toMatch(/--image-root/);
  });
});

describe("image sources and limits", () => {
  let work = "";
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cobra-serve-img-"));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("file: URLs under the image root answer like the data URL; outside it they are refused", async () => {
    const { readFile } = await import("node:fs/promises");
    const inside = join(work, "gray.png");
    await writeFile(inside, await readFile(imagePath("gray")));
    const local = await startServer(cobra, {
      images: { fileRoot: work, allowRemote: false, maxBytes: 500_000, remoteTimeoutMs: 1000 },
    });
    try {
      const c = CASES.find((x) => x.image === "gray")!;
      const res = await local.client.chat.completions.create({
        model: "m",
        max_tokens: c.max_new_tokens,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: `file://${inside}` } },
              { type: "text", text: c.user_message },
            ],
          },
        ],
      });
      expect(res.choices[0].message.content).toBe(c.greedy_text);
      const outside = await local.client.chat.completions
        .create({
          model: "m",
          messages: [
            {
              role: "user",
              content: [{ type: "image_url", image_url: { url: `file://${imagePath("gray")}` } }],
            },
          ],
        })
        .catch((e) => e);
      expect(outside).toBeInstanceOf(OpenAI.BadRequestError);
      expect(outside.message).toMatch(/image root/);
      const big = await local.client.chat.completions
        .create({
          model: "m",
          messages: [
            {
              role: "user",
              content: [{ type: "image_url", image_url: { url: dataUrl(imagePath("astronaut")) } }],
            },
          ],
        })
        .catch((e) => e);
      expect(big).toBeInstanceOf(OpenAI.BadRequestError);
      expect(big.code).toBe("image_too_large");
    } finally {
      await local.close();
    }
  });
});

describe("remote images (--allow-remote-images)", () => {
  it("are fetched within the size and time limits; too big or too slow is a 400", async () => {
    const { createServer } = await import("node:http");
    const { readFile } = await import("node:fs/promises");
    const gray = await readFile(imagePath("gray"));
    const host = createServer((req, res) => {
      if (req.url === "/slow.png") return; // never answers
      res.writeHead(200, { "content-type": "image/png" });
      res.end(req.url === "/big.png" ? Buffer.alloc(300_000) : gray);
    });
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(host.address() as { port: number }).port}`;
    const remote = await startServer(cobra, {
      images: { allowRemote: true, maxBytes: 200_000, remoteTimeoutMs: 500 },
    });
    const ask = (file: string, text: string) =>
      remote.client.chat.completions.create({
        model: "m",
        max_tokens: 24,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: `${base}/${file}` } },
              { type: "text", text },
            ],
          },
        ],
      });
    try {
      const c = CASES.find((x) => x.image === "gray")!;
      expect((await ask("gray.png", c.user_message)).choices[0].message.content).toBe(c.greedy_text);
      const big = await ask("big.png", "hi").catch((e) => e);
      expect(big).toBeInstanceOf(OpenAI.BadRequestError);
      expect(big.code).toBe("image_too_large");
      const slow = await ask("slow.png", "hi").catch((e) => e);
      expect(slow).toBeInstanceOf(OpenAI.BadRequestError);
      expect(slow.code).toBe("invalid_image_url");
    } finally {
      await remote.close();
      host.closeAllConnections();
      host.close();
    }
  });
});

describe("body limit and API key", () => {
  it("a body over the limit is a 413 in OpenAI's shape; the server goes on serving", async () => {
    const small = await startServer(cobra, { maxBodyBytes: 10_000 });
    try {
      const err = await small.client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "x".repeat(20_000) }] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err.status).toBe(413);
      expect(err.code).toBe("request_too_large");
      const ok = await small.client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 2,
      });
      expect(ok.choices[0].finish_reason).toBe("length");
    } finally {
      await small.close();
    }
  });

  it("with --api-key, a missing or wrong key is a 401 AuthenticationError; /health stays open", async () => {
    const keyed = await startServer(cobra, { apiKey: "s3cret" });
    try {
      for (const key of ["wrong", "s3cre"]) {
        const err = await keyed
          .clientWith(key)
          .models.list()
          .catch((e) => e);
        expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
        expect(err.code).toBe("invalid_api_key");
      }
      const noHeader = await fetch(`${keyed.url}/v1/models`);
      expect(noHeader.status).toBe(401);
      expect((await noHeader.json()).error.message).toMatch(/didn't provide an API key/);
      expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
      const models = await keyed.clientWith("s3cret").models.list();
      expect(models.data[0].id).toBe("cobra-tiny");
    } finally {
      await keyed.close();
    }
  });
});

describe("GET /metrics", () => {
  it("is Prometheus text with requests, queue, batch, tokens, latency histograms and cache lookups", async () => {
    const fresh = await startServer(cobra);
    try {
      const done = await fresh.client.chat.completions.create({
        model: "m",
        messages: caseMessages(CASES[0]),
        max_tokens: 5,
      });
      const stream = await fresh.client.chat.completions.create({
        model: "m",
        messages: caseMessages(CASES[0]),
        max_tokens: 7,
        stream: true,
      });
      for await (const _ of stream);
      await fresh.client.chat.completions.create({ model: "m", messages: [] }).catch(() => {});
      const res = await fetch(`${fresh.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const [name, type] of [
        ["cobra_requests_total", "counter"],
        ["cobra_requests_aborted_total", "counter"],
        ["cobra_queue_depth", "gauge"],
        ["cobra_running_sequences", "gauge"],
        ["cobra_decode_batch_size", "histogram"],
        ["cobra_prompt_tokens_total", "counter"],
        ["cobra_prefill_tokens_total", "counter"],
        ["cobra_generated_tokens_total", "counter"],
        ["cobra_time_to_first_token_seconds", "histogram"],
        ["cobra_time_per_output_token_seconds", "histogram"],
        ["cobra_state_cache_lookups_total", "counter"],
        ["cobra_state_cache_bytes", "gauge"],
      ])
        expect(text).toContain(`# TYPE ${name} ${type}\n`);
      const requests = (status: number) =>
        metric(fresh.url, `cobra_requests_total{route="/v1/chat/completions",status="${status}"}`);
      expect([await requests(200), await requests(400)]).toEqual([2, 1]);
      expect(await metric(fresh.url, "cobra_generated_tokens_total")).toBe(5 + 7);
      expect(await metric(fresh.url, "cobra_prompt_tokens_total")).toBe(2 * (done.usage?.prompt_tokens ?? 0));
      expect(await metric(fresh.url, "cobra_time_to_first_token_seconds_count")).toBe(2);
      expect(await metric(fresh.url, "cobra_time_per_output_token_seconds_count")).toBe(4 + 6);
      expect(await metric(fresh.url, 'cobra_state_cache_lookups_total{result="miss"}')).toBe(1);
      expect(await metric(fresh.url, 'cobra_state_cache_lookups_total{result="hit"}')).toBe(1);
      // 729 image rows and the prompt once; the second request reused the image state.
      expect(await metric(fresh.url, "cobra_prefill_tokens_total")).toBe(
        729 + 2 * (done.usage?.prompt_tokens ?? 0),
      );
    } finally {
      await fresh.close();
    }
  });
});
