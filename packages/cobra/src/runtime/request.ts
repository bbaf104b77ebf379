import { InvalidArgumentError, type PromptBuilder } from "@cobra-ts/core";
import type { GenerateOptions } from "@cobra-ts/mamba-lm";
import { buildPrompt, type Role, type Turn } from "../prompt/prompt-builder.js";

/** A chat message; "human"/"gpt" (Cobra's names) and "user"/"assistant" are both accepted. */
export interface ChatMessage {
  role: "user" | "assistant" | Role;
  content: string;
}

/** What to ask: exactly one of `prompt` (one user message), `messages` (a chat) or `rawPrompt`. */
export interface PromptRequest {
  /** One user message, wrapped in the model's chat prompt. */
  prompt?: string;
  /** A whole chat, alternating user/assistant, ending with a user message. */
  messages?: readonly ChatMessage[];
  /** The exact prompt string (research: non-chat "In: ... Out:" prompts, OCR tokens first, ...). */
  rawPrompt?: string;
}

/** Generation options passed through to the LM (sampling, stops, length); the prefix and state are Cobra's. */
export type GenerationSettings = Omit<GenerateOptions, "prefixEmbeds" | "state" | "signal">;

export function toTurns(messages: readonly ChatMessage[]): Turn[] {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new InvalidArgumentError("messages must be a non-empty array of {role, content}");
  return messages.map((m, i) => {
    if (typeof m?.content !== "string")
      throw new InvalidArgumentError(`messages[${i}].content must be a string`);
    const role = m.role === "user" ? "human" : m.role === "assistant" ? "gpt" : m.role;
    if (role !== "human" && role !== "gpt")
      throw new InvalidArgumentError(
        `messages[${i}].role must be "user" or "assistant", got ${JSON.stringify(m.role)}`,
      );
    return { role, message: m.content };
  });
}

/** The prompt string for this request, built by a fresh builder from `createBuilder`. */
export function promptString(request: PromptRequest, createBuilder: () => PromptBuilder): string {
  const given = [request.prompt, request.messages, request.rawPrompt].filter((v) => v !== undefined).length;
  if (given !== 1) throw new InvalidArgumentError("give exactly one of prompt, messages or rawPrompt");
  if (request.rawPrompt !== undefined) {
    if (typeof request.rawPrompt !== "string") throw new InvalidArgumentError("rawPrompt must be a string");
    return request.rawPrompt;
  }
  const turns =
    request.messages !== undefined
      ? toTurns(request.messages)
      : [{ role: "human" as const, message: checkString(request.prompt, "prompt") }];
  if (turns[turns.length - 1].role !== "human")
    throw new InvalidArgumentError("the last message must be the user's");
  return buildPrompt(createBuilder(), turns);
}

function checkString(v: unknown, name: string): string {
  if (typeof v !== "string") throw new InvalidArgumentError(`${name} must be a string`);
  return v;
}
