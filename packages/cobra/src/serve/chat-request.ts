import type { SequenceOptions } from "@cobra-ts/mamba-lm";
import type { ChatMessage } from "../runtime/request.js";
import { badRequest } from "./errors.js";
import type { ChatCompletionBody } from "./schema.js";

/** A chat completion request in Cobra's terms. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** The conversation's image (Cobra reads one, before the whole prompt), with the field it came from. */
  image: { url: string; param: string } | null;
  options: SequenceOptions;
  seed?: number;
  stream: boolean;
  includeUsage: boolean;
}

/**
 * Maps an OpenAI chat body onto Cobra's prompt and generation settings; refuses (400, naming the field) what
 * Cobra's prompt cannot express: system turns, tool turns, a second image, a chat that does not end with the
 * user. Sampling: no temperature or 0 decodes greedily, as `cobra generate` does (OpenAI's default of 1 would
 * make every answer random); a temperature > 0 samples from the whole vocabulary with `top_p`.
 */
export function toChatRequest(
  body: ChatCompletionBody,
  tokens: { defaultMaxTokens: number; maxTokensLimit: number },
): ChatRequest {
  let image: ChatRequest["image"] = null;
  const messages = body.messages.map((m, i): ChatMessage => {
    if (m.role === "system" || m.role === "developer" || m.role === "tool")
      throw badRequest(
        `messages[${i}].role "${m.role}" is not supported: Cobra's chat prompt has only user and assistant turns`,
        `messages[${i}].role`,
      );
    const content = m.content ?? "";
    if (typeof content === "string") return { role: m.role, content };
    const texts: string[] = [];
    for (const [j, part] of content.entries()) {
      const param = `messages[${i}].content[${j}]`;
      if (part.type === "text") {
        if (typeof part.text !== "string")
          throw badRequest(`${param}.text must be a string`, `${param}.text`);
        texts.push(part.text);
      } else {
        if (m.role !== "user") throw badRequest("images can only be in user messages", param);
        if (!part.image_url) throw badRequest(`${param}.image_url is required`, `${param}.image_url`);
        if (image)
          throw badRequest(
            `only one image per conversation: Cobra reads one image before the chat (${image.param} has one)`,
            param,
          );
        image = { url: part.image_url.url, param: `${param}.image_url.url` };
      }
    }
    return { role: m.role, content: texts.join("\n") };
  });
  if (messages[messages.length - 1].role !== "user")
    throw badRequest("the last message must be the user's", `messages[${messages.length - 1}].role`);
  for (let i = 1; i < messages.length; i++)
    if (messages[i].role === messages[i - 1].role)
      throw badRequest("user and assistant messages must alternate", `messages[${i}].role`);
  if (messages[0].role !== "user")
    throw badRequest("the first message must be the user's", "messages[0].role");
  const field = body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  const maxNewTokens = body[field] ?? tokens.defaultMaxTokens;
  // Mamba's answer has no context window to end it: without a cap, a client could hold a batch slot for days.
  if (maxNewTokens > tokens.maxTokensLimit)
    throw badRequest(
      `${field} is ${maxNewTokens}, over this server's limit of ${tokens.maxTokensLimit} (cobra serve --max-tokens-limit)`,
      field,
    );
  const temperature = body.temperature ?? 0;
  const stop = body.stop ?? undefined;
  return {
    messages,
    image,
    options: {
      maxNewTokens,
      stopStrings: stop === undefined ? undefined : typeof stop === "string" ? [stop] : stop,
      ...(temperature > 0 ? { doSample: true, topK: 0, temperature, topP: body.top_p ?? 0 } : {}),
    },
    seed: body.seed ?? undefined,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}
