/**
 * The JSON schema of a chat completion request body: fastify validates it with ajv before the handler runs
 * and the error handler turns ajv's error into OpenAI's 400 naming the field (`messages[0].role`). Fields
 * OpenAI defines that Cobra cannot honour (n > 1, logprobs, tools) are refused; other unknown fields are
 * ignored, as clients send extras (`user`, `metadata`).
 */
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

const contentPart = {
  type: "object",
  required: ["type"],
  properties: {
    type: { enum: ["text", "image_url"] },
    text: { type: "string" },
    image_url: {
      type: "object",
      required: ["url"],
      properties: { url: { type: "string", minLength: 1 }, detail: { enum: ["auto", "low", "high"] } },
    },
  },
} as const;

export const chatCompletionSchema = {
  type: "object",
  required: ["model", "messages"],
  properties: {
    model: { type: "string" },
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role"],
        properties: {
          role: { enum: ["system", "developer", "user", "assistant", "tool"] },
          content: nullable({ anyOf: [{ type: "string" }, { type: "array", items: contentPart }] }),
          name: { type: "string" },
        },
      },
    },
    max_tokens: nullable({ type: "integer", minimum: 1 }),
    max_completion_tokens: nullable({ type: "integer", minimum: 1 }),
    temperature: nullable({ type: "number", minimum: 0, maximum: 2 }),
    top_p: nullable({ type: "number", exclusiveMinimum: 0, maximum: 1 }),
    seed: nullable({ type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 }),
    stop: nullable({
      anyOf: [
        { type: "string", minLength: 1 },
        { type: "array", maxItems: 4, items: { type: "string", minLength: 1 } },
      ],
    }),
    stream: nullable({ type: "boolean" }),
    stream_options: nullable({ type: "object", properties: { include_usage: { type: "boolean" } } }),
    n: nullable({ type: "integer", minimum: 1, maximum: 1 }),
    logprobs: nullable({ const: false }),
    tools: { type: "array", maxItems: 0 },
  },
} as const;

/** The body once the schema has accepted it. */
export interface ChatCompletionBody {
  model: string;
  messages: {
    role: "system" | "developer" | "user" | "assistant" | "tool";
    content?: string | ContentPart[] | null;
  }[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
}

export type ContentPart =
  | { type: "text"; text?: string }
  | { type: "image_url"; image_url?: { url: string; detail?: string } };

/** ajv's instancePath (`/messages/0/role`) and a missing property as OpenAI's param (`messages[0].role`). */
export function paramOf(instancePath: string, missingProperty?: string): string | null {
  const parts = instancePath.split("/").filter(Boolean);
  if (missingProperty) parts.push(missingProperty);
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? null : out;
}
