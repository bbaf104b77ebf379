import {
  AbortError,
  CobraError,
  ImageDecodeError,
  InvalidArgumentError,
  PromptTooLongError,
} from "@cobra-ts/core";

/** The `type` values OpenAI's API puts in its error objects. */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "server_error";

/**
 * An error the server answers with, in OpenAI's shape `{"error": {message, type, param, code}}` and with the
 * status code OpenAI uses for it, so every OpenAI client raises its matching error class.
 */
export class ApiError extends CobraError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (retry-after on 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, message, "invalid_request_error", param, code);

export const unauthorized = (message: string) =>
  new ApiError(401, message, "authentication_error", null, "invalid_api_key");

export const queueFull = (retryAfterSeconds: number) =>
  new ApiError(
    429,
    `the server's queue is full; retry after ${retryAfterSeconds} s`,
    "rate_limit_error",
    null,
    "rate_limit_exceeded",
    { "retry-after": String(retryAfterSeconds) },
  );

export const unavailable = (message: string) => new ApiError(503, message, "server_error", null, null);

/**
 * Any error thrown while serving a request, as the ApiError to answer with: typed input errors are the
 * client's (400, naming `param` where known); anything else is the server's (500) and is logged, not shown.
 */
export function toApiError(e: unknown, param: string | null = null): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ImageDecodeError) return badRequest(e.message, param, "invalid_image");
  // the refusal, not the message: its promptOverflow advice is the library's, not a request field
  if (e instanceof PromptTooLongError) return badRequest(e.refusal, param, "context_length_exceeded");
  if (e instanceof InvalidArgumentError) return badRequest(e.message, param);
  if (e instanceof AbortError) return new ApiError(499, e.message, "invalid_request_error");
  return new ApiError(500, "the server failed to answer this request", "server_error");
}
