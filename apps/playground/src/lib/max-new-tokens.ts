/** The max new tokens field: what a user may type, and why anything else is refused rather than changed. */

export const MIN_NEW_TOKENS = 1;
export const MAX_NEW_TOKENS = 4096;

export type ParsedCount = { ok: true; value: number } | { ok: false; message: string };

/** Accepts a whole number from MIN_NEW_TOKENS to MAX_NEW_TOKENS, as typed (a number input gives "" when unparsable). */
export function parseMaxNewTokens(text: string): ParsedCount {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isInteger(value) || value < MIN_NEW_TOKENS || value > MAX_NEW_TOKENS)
    return {
      ok: false,
      message: `Max new tokens must be a whole number from ${MIN_NEW_TOKENS} to ${MAX_NEW_TOKENS}.`,
    };
  return { ok: true, value };
}
