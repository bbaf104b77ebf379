/**
 * Python's `str.strip()` / `rstrip()` / `split()` with no argument, which Cobra applies to messages, prompts and
 * outputs and the official benchmark scorers to answers.
 * JS `trim()` differs: Python also strips U+001C..U+001F and U+0085, and keeps U+FEFF.
 */
const PYTHON_WHITESPACE =
  "\\t\\n\\v\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING = new RegExp(`^[${PYTHON_WHITESPACE}]+`);
const TRAILING = new RegExp(`[${PYTHON_WHITESPACE}]+$`);
const RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`);

export function pythonStrip(text: string): string {
  return pythonRstrip(text).replace(LEADING, "");
}

export function pythonRstrip(text: string): string {
  return text.replace(TRAILING, "");
}

/** `str.split()`: the words between runs of whitespace, none empty. */
export function pythonSplit(text: string): string[] {
  const stripped = pythonStrip(text);
  return stripped === "" ? [] : stripped.split(RUN);
}
