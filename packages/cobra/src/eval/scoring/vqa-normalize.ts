import { pythonSplit, pythonStrip } from "@cobra-ts/mamba-lm";

/**
 * The answer normalization of the VQA evaluation script (GT-Vision-Lab/VQA `vqaEval.py`), which vlm-evaluation's
 * VQAv2 and VizWiz scorers and mmf's EvalAIAnswerProcessor (TextVQA) copy. Its quirks are kept on purpose, since
 * the published numbers come from them:
 * - a punctuation mark is deleted if it touches a space anywhere in the text (or the text has a digit,comma,digit),
 *   else replaced by a space;
 * - the period pattern `(?!<=\d)(\.)(?!\d)` was meant as a lookbehind but is a lookahead for "<=", so it removes
 *   every period not followed by a digit, and `re.UNICODE` lands in `sub`'s count slot: only the first 32 go;
 * - Python 3's `\d` is any Unicode decimal digit, hence `\p{Nd}`.
 */

const PUNCTUATION = [
  ";",
  "/",
  "[",
  "]",
  '"',
  "{",
  "}",
  "(",
  ")",
  "=",
  "+",
  "\\",
  "_",
  "-",
  ">",
  "<",
  "@",
  "`",
  ",",
  "?",
  "!",
] as const;

/** `re.UNICODE` (32) passed as `re.sub`'s count. */
const PERIODS_REMOVED = 32;
const PERIOD = /(?!<=\p{Nd})(\.)(?!\p{Nd})/gu;

/** The VQA script's `commaStrip` `(\d)(\,)(\d)`. */
export const VQA_COMMA = /\p{Nd},\p{Nd}/u;
/** mmf's `COMMA_STRIP` `(?<=\d)(\,)+(?=\d)`: a run of commas between digits. */
export const MMF_COMMA = /\p{Nd},+\p{Nd}/u;

const NUMBERS: Readonly<Record<string, string>> = {
  none: "0",
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
};
const ARTICLES = new Set(["a", "an", "the"]);

/** `processPunctuation`; `comma` is the script's comma pattern (VQA's or mmf's). */
export function processPunctuation(text: string, comma: RegExp = VQA_COMMA): string {
  let out = text;
  const digitComma = comma.test(text);
  for (const p of PUNCTUATION) {
    // The test reads the input text, not the partly processed one, as the original does.
    const touchesSpace = text.includes(`${p} `) || text.includes(` ${p}`);
    out = out.replaceAll(p, touchesSpace || digitComma ? "" : " ");
  }
  let removed = 0;
  return out.replace(PERIOD, (m) => (removed++ < PERIODS_REMOVED ? "" : m));
}

/** `processDigitArticle`: lowercase, split on whitespace, number words to digits, drop articles, contractions. */
export function processDigitArticle(text: string, contractions: Readonly<Record<string, string>>): string {
  const words = pythonSplit(text.toLowerCase())
    .map((w) => (Object.hasOwn(NUMBERS, w) ? NUMBERS[w]! : w))
    .filter((w) => !ARTICLES.has(w));
  return words.map((w) => (Object.hasOwn(contractions, w) ? contractions[w]! : w)).join(" ");
}

/** What every scorer does to an answer first: newlines and tabs to spaces, then Python's strip(). */
export function flattenAnswer(text: string): string {
  return pythonStrip(text.replaceAll("\n", " ").replaceAll("\t", " "));
}
