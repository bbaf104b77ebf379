/**
 * transformers' `PreTrainedTokenizerBase.clean_up_tokenization`: the same replacements, applied one after the
 * other over the whole string (Python `str.replace` and a global RegExp both replace non-overlapping matches
 * from left to right).
 */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** Characters before a cut that decide whether it is stable: the longest pattern (" n't") minus one. */
export const CLEAN_UP_LOOKBEHIND = 3;

/**
 * The largest cut `c` in [from, text.length] such that clean-up of any continuation splits there:
 * `clean(text.slice(0, c) + rest) === clean(text.slice(0, c)) + clean(rest)` for every `rest`.
 *
 * Every pattern starts with a space and is at most 4 characters long, and clean-up only ever deletes spaces, so
 * a match (also one formed by an earlier replacement) can only straddle `c` if one of the 3 characters before it
 * is a space. Cuts never split a surrogate pair, so each piece is well-formed text.
 */
export function stableCleanUpCut(text: string, from: number): number {
  for (let c = text.length; c > from; c--) {
    if (isHighSurrogate(text.charCodeAt(c - 1))) continue;
    if (!text.slice(Math.max(0, c - CLEAN_UP_LOOKBEHIND), c).includes(" ")) return c;
  }
  return from;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
