import { randomUUID } from "node:crypto";
import type { StopReason } from "@cobra-ts/mamba-lm";

/** OpenAI's finish_reason for how generation ended. */
export function finishReason(reason: StopReason): "stop" | "length" {
  return reason === "max_new_tokens" ? "length" : "stop";
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** What every response and chunk of one completion shares. */
export interface CompletionHead {
  id: string;
  created: number;
  model: string;
}

export function completionHead(model: string): CompletionHead {
  return {
    id: `chatcmpl-${randomUUID().replaceAll("-", "")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

/** A `chat.completion` object (the non-streaming answer). */
export function chatCompletion(head: CompletionHead, text: string, reason: StopReason, use: Usage) {
  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text, refusal: null },
        logprobs: null,
        finish_reason: finishReason(reason),
      },
    ],
    usage: use,
  };
}

/**
 * A `chat.completion.chunk`: the first carries the role, the others a content delta, the last of the choice
 * an empty delta and the finish_reason. With `stream_options.include_usage` every chunk has `usage: null`
 * and one more chunk with no choices carries the usage.
 */
export function chatCompletionChunk(
  head: CompletionHead,
  delta: { role?: "assistant"; content?: string },
  reason: StopReason | null,
  includeUsage: boolean,
) {
  return {
    id: head.id,
    object: "chat.completion.chunk",
    created: head.created,
    model: head.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: reason && finishReason(reason) }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

export function usageChunk(head: CompletionHead, use: Usage) {
  return {
    id: head.id,
    object: "chat.completion.chunk",
    created: head.created,
    model: head.model,
    choices: [],
    usage: use,
  };
}

/** One server-sent event line as OpenAI writes them. */
export function sseData(value: unknown): string {
  return `data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`;
}

/** `GET /v1/models`: the one model this server serves. */
export function modelList(id: string, created: number) {
  return { object: "list", data: [{ id, object: "model", created, owned_by: "cobra-ts" }] };
}
