/** Recognising the few error kinds the playground treats specially, whatever realm threw them. */

function hasName(error: unknown, ...names: string[]): boolean {
  return typeof error === "object" && error !== null && "name" in error && names.includes(String(error.name));
}

/** The Cache API and IndexedDB reject with a DOMException named QuotaExceededError when storage is full. */
export function isQuotaError(error: unknown): boolean {
  return hasName(error, "QuotaExceededError", "NS_ERROR_DOM_QUOTA_REACHED");
}

export function isAbortError(error: unknown): boolean {
  return hasName(error, "AbortError");
}

/** Name and message of anything thrown, for sending across postMessage. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error || (typeof error === "object" && error !== null && "message" in error)) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return { name: typeof name === "string" ? name : "Error", message: String(message) };
  }
  return { name: "Error", message: String(error) };
}
