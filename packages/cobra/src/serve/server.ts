import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { AbortError, InvalidArgumentError, type LanguageModelState } from "@cobra-ts/core";
import { limitPromptIds, type StreamChunk } from "@cobra-ts/mamba-lm";
// fastify rather than hono: this server is Node-only, and fastify brings what it needs built in and
// maintained — ajv schema validation whose errors name the field, a body limit answered with 413, a
// graceful close that refuses new requests while in-flight ones finish — where hono's strength (one app
// on edge runtimes and Web-standard servers) buys nothing for an onnxruntime-node process.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { CobraEngine } from "../runtime/cobra.js";
import { toChatRequest } from "./chat-request.js";
import { ApiError, badRequest, toApiError, unauthorized, unavailable } from "./errors.js";
import { type ImagePolicy, readImageUrl } from "./image-source.js";
import { ServerMetrics } from "./metrics.js";
import {
  chatCompletion,
  chatCompletionChunk,
  completionHead,
  modelList,
  sseData,
  usage,
  usageChunk,
} from "./openai-shapes.js";
import { Scheduler } from "./scheduler.js";
import { type ChatCompletionBody, chatCompletionSchema, paramOf } from "./schema.js";
import { StateCache } from "./state-cache.js";

/** What the server needs of a loaded Cobra: its parts, its prompt, and the vision pass on encoded bytes. */
export type ServedModel = Pick<
  CobraEngine<Uint8Array>,
  "parts" | "settings" | "encodeImage" | "promptString"
>;

export interface ServeOptions {
  /** The id `/v1/models` lists; requests may name any model, this one answers. */
  modelId: string;
  /** When set, `/v1/*` needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  maxBatch: number;
  maxQueue: number;
  /** Budget of the image-state cache, in MiB (0: no cache). */
  stateCacheMb: number;
  /** Most positions one batched prefill call runs between decode steps (rows x positions). */
  prefillChunk: number;
  /** Largest request body (413 beyond it). */
  maxBodyBytes: number;
  /** max_tokens when a request gives none (--max-tokens). */
  defaultMaxTokens: number;
  /** The most max_tokens a request may ask (400 beyond; --max-tokens-limit); at least defaultMaxTokens. */
  maxTokensLimit: number;
  images: ImagePolicy;
  /** Where server-side failures are reported (never to the client). */
  log?: (line: string) => void;
}

/**
 * `cobra serve`'s HTTP server: OpenAI's Chat Completions API over one Cobra model. It listens before the model
 * has loaded (`/health` says 503 until `setModel`), so an orchestrator sees it start.
 */
export class CobraServer {
  readonly app: FastifyInstance;
  readonly metrics = new ServerMetrics();
  private model: ServedModel | null = null;
  private scheduler: Scheduler | null = null;
  private closing = false;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly options: ServeOptions) {
    if (options.defaultMaxTokens > options.maxTokensLimit)
      throw new InvalidArgumentError(
        `--max-tokens ${options.defaultMaxTokens} is over --max-tokens-limit ${options.maxTokensLimit}: every request without max_tokens would be refused`,
      );
    this.app = Fastify({
      bodyLimit: options.maxBodyBytes,
      // OpenAI refuses a string where a number belongs: no coercion, no silent removal.
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
      forceCloseConnections: "idle",
    });
    this.routes();
  }

  get modelId(): string {
    return this.options.modelId;
  }

  /** The model is loaded: requests are served from now on. */
  async setModel(model: ServedModel): Promise<void> {
    const stateBytes = (await model.parts.lm.newState(1).toBytes()).byteLength;
    const cache = new StateCache<LanguageModelState>(this.options.stateCacheMb * 2 ** 20, stateBytes);
    this.scheduler = new Scheduler(model.parts.lm, model.parts.tokenizer, cache, this.options, this.metrics);
    this.model = model;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await this.app.listen({ host, port });
    return this.app.server.address() as AddressInfo;
  }

  /**
   * Graceful stop: new requests get 503 and the port closes; running generations finish for up to
   * `graceMs`, then are cut (their streams end with an error event); resolves once every connection is done.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const closed = this.app.close();
    await this.scheduler?.shutdown(graceMs);
    // Every answer has been written; a keep-alive connection would otherwise hold the port for its timeout.
    await new Promise((r) => setImmediate(r));
    this.app.server.closeIdleConnections();
    await closed;
  }

  private routes(): void {
    const { app } = this;
    app.addHook("onRequest", async (request) => {
      if (!this.options.apiKey || !request.url.startsWith("/v1/")) return;
      const given = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")?.[1] ?? "";
      if (!sameSecret(given, this.options.apiKey))
        throw unauthorized(
          given === ""
            ? "You didn't provide an API key: send it as 'Authorization: Bearer <key>'"
            : "Incorrect API key provided",
        );
    });
    app.addHook("onResponse", async (request, reply) => {
      this.metrics.requests.inc({ route: routeOf(request.routeOptions.url), status: reply.statusCode });
    });
    app.setErrorHandler((error, _request, reply) =>
      this.sendError(reply, this.fromFramework(error as FastifyError | ApiError)),
    );
    app.setNotFoundHandler((request, reply) =>
      this.sendError(
        reply,
        new ApiError(
          404,
          `Unknown request URL: ${request.method} ${request.url}`,
          "invalid_request_error",
          null,
          "unknown_url",
        ),
      ),
    );

    app.get("/health", async (_request, reply) => {
      if (this.closing) return reply.code(503).send({ status: "shutting down" });
      if (!this.scheduler) return reply.code(503).send({ status: "loading" });
      return { status: "ok" };
    });
    app.get("/metrics", async (_request, reply) => {
      reply.type(this.metrics.registry.contentType);
      return this.metrics.registry.metrics();
    });
    app.get("/v1/models", async () => modelList(this.options.modelId, this.created));
    app.post<{ Body: ChatCompletionBody }>(
      "/v1/chat/completions",
      { schema: { body: chatCompletionSchema } },
      (request, reply) => this.chatCompletions(request.body, reply),
    );
  }

  private async chatCompletions(body: ChatCompletionBody, reply: FastifyReply): Promise<unknown> {
    const { model, scheduler } = this;
    if (this.closing) throw unavailable("the server is shutting down");
    if (!model || !scheduler) throw unavailable("the model is still loading; retry when /health says ok");
    const chat = toChatRequest(body, this.options);
    let promptIds: number[];
    try {
      const prompt = model.promptString({ messages: chat.messages });
      promptIds = limitPromptIds(model.parts.tokenizer.encode(prompt), {
        maxPromptLength: model.settings.maxPromptLength,
      });
    } catch (e) {
      throw e instanceof InvalidArgumentError ? toApiError(e, "messages") : e;
    }
    const image = chat.image && {
      bytes: await readImageUrl(chat.image.url, this.options.images, chat.image.param),
      param: chat.image.param,
    };
    // The client going away (its socket closes before the answer is written) stops the generation.
    const gone = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    reply.raw.on("error", () => gone.abort());
    const head = completionHead(body.model);
    const stream = chat.stream ? new SseWriter(reply, head, chat.includeUsage) : null;
    const job = {
      imageKey: image ? createHash("sha256").update(image.bytes).digest("hex") : "",
      encodeImage: image
        ? async (signal: AbortSignal) => (await model.encodeImage(image.bytes, signal)).projected
        : undefined,
      promptIds,
      options: chat.options,
      seed: chat.seed,
      signal: gone.signal,
      onChunk: stream ? (chunk: StreamChunk) => stream.token(chunk.text) : undefined,
    };
    let result: Awaited<ReturnType<Scheduler["submit"]>>;
    try {
      result = await scheduler.submit(job);
    } catch (e) {
      if (gone.signal.aborted && !this.closing) return reply; // nobody is listening
      const error =
        this.closing && e instanceof AbortError
          ? unavailable("the server is shutting down")
          : toApiError(e, image?.param ?? null);
      if (error.status === 500) this.options.log?.(`cobra serve: ${(e as Error)?.stack ?? String(e)}`);
      if (stream?.started) {
        stream.fail(error);
        return reply;
      }
      throw error;
    }
    const use = usage(result.promptIds.length, result.ids.length);
    if (!stream) return chatCompletion(head, result.text, result.stopReason, use);
    stream.finish(result.stopReason, use);
    return reply;
  }

  private fromFramework(error: FastifyError | ApiError): ApiError {
    if (error instanceof ApiError) return error;
    if (error.validation?.length) {
      const [first] = error.validation;
      const missing = (first.params as { missingProperty?: string }).missingProperty;
      const param = paramOf(first.instancePath, missing);
      const what = missing ? `${param} is required` : `${param ?? "the body"} ${first.message}`;
      return badRequest(`Invalid request: ${what}`, param);
    }
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return new ApiError(
        413,
        `the request body is over this server's limit of ${this.options.maxBodyBytes} bytes`,
        "invalid_request_error",
        null,
        "request_too_large",
      );
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return new ApiError(
        status,
        error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError
          ? `We could not parse the JSON body of your request: ${error.message}`
          : error.message,
        "invalid_request_error",
      );
    return toApiError(error);
  }

  private sendError(reply: FastifyReply, error: ApiError): FastifyReply {
    if (error.status >= 500 && error.status !== 503) this.options.log?.(`cobra serve: ${error.message}`);
    return reply.code(error.status).headers(error.headers).send(error.body);
  }
}

/**
 * A streamed answer as OpenAI's server-sent events. Nothing is written before the first token, so a request
 * that fails earlier (an undecodable image, a full queue) still gets its HTTP status and error body.
 */
class SseWriter {
  started = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly head: ReturnType<typeof completionHead>,
    private readonly includeUsage: boolean,
  ) {}

  token(text: string): void {
    this.start();
    if (text !== "") this.write(chatCompletionChunk(this.head, { content: text }, null, this.includeUsage));
  }

  finish(reason: Parameters<typeof chatCompletionChunk>[2], use: ReturnType<typeof usage>): void {
    this.start();
    this.write(chatCompletionChunk(this.head, {}, reason, this.includeUsage));
    if (this.includeUsage) this.write(usageChunk(this.head, use));
    this.write("[DONE]");
    this.reply.raw.end();
  }

  /** An error after the stream began: OpenAI's clients raise an `{"error": ...}` event as an APIError. */
  fail(error: ApiError): void {
    this.write(error.body);
    this.reply.raw.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    this.write(chatCompletionChunk(this.head, { role: "assistant", content: "" }, null, this.includeUsage));
  }

  private write(value: unknown): void {
    const raw = this.reply.raw;
    if (!raw.destroyed && !raw.writableEnded) raw.write(sseData(value));
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function routeOf(url: string | undefined): string {
  return url ?? "unknown";
}
