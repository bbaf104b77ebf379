import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { FileNotFoundError, FileSystemError } from "@cobra-ts/core";
import { AnnotationFormatError } from "./errors.js";

export { AnnotationFormatError };

/** The first of `names` present in `dir`; none there is a FileNotFoundError naming every accepted name. */
export async function locate(dir: string, names: readonly string[], what: string): Promise<string> {
  for (const name of names) {
    const path = join(dir, name);
    if (await readable(path)) return path;
  }
  throw new FileNotFoundError(join(dir, names.join(" or ")), what);
}

/** Like `locate`, but absent files give undefined. */
export async function locateOptional(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const path = join(dir, name);
    if (await readable(path)) return path;
  }
  return undefined;
}

async function readable(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw new FileSystemError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Whether `path` is a file (a folder or nothing there: false). */
export const fileExists = readable;

/**
 * An annotation file's bytes; a missing file names what it is, so `--data` pointing at the wrong folder is one
 * clear line.
 */
export async function readAnnotationBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(path, what);
    if (code === "EISDIR") throw new AnnotationFormatError(path, null, `is a folder; expected the ${what}`);
    throw new FileSystemError(`cannot read the ${what} ${path}: ${code ?? (e as Error).message}`, {
      cause: e,
    });
  }
}

const readText = async (path: string, what: string): Promise<string> =>
  (await readAnnotationBytes(path, what)).toString("utf8");

function parseJson(text: string, path: string, at: string | null, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AnnotationFormatError(
      path,
      at,
      `is not valid JSON (${(e as Error).message}); expected the ${what}`,
      {
        cause: e,
      },
    );
  }
}

/** A whole JSON file. */
export async function readJson(path: string, what: string): Promise<unknown> {
  return parseJson(await readText(path, what), path, null, what);
}

/**
 * A JSON file holding one object, as its entries in the file's order. `JSON.parse` puts integer-like keys
 * (GQA's question ids) first in numeric order; Python keeps the file's order, and vlm-evaluation's seeded
 * shuffle of the questions starts from it.
 */
export async function readJsonEntries(path: string, what: string): Promise<[string, unknown][]> {
  const text = await readText(path, what);
  const root = parseJson(text, path, null, what);
  const obj = new Fields(path).object(root, ROOT);
  return topLevelKeys(text).map((key) => [key, obj[key]]);
}

/** The keys of the (valid JSON) object `text`, first occurrences, in order. */
function topLevelKeys(text: string): string[] {
  const keys = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.add(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return [...keys];
}

/** A JSON Lines file: one value per non-empty line; a bad line is named by its number (field `line N`). */
export async function readJsonLines(path: string, what: string): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const [i, line] of (await readText(path, what)).split("\n").entries()) {
    if (line.trim() !== "")
      values.push(parseJson(line, path, `line ${i + 1}`, `${what}, one JSON value a line`));
  }
  return values;
}

/** What `Fields.field` returns for each kind of value. */
interface KindType {
  object: Record<string, unknown>;
  array: unknown[];
  string: string;
  number: number;
  integer: number;
  boolean: boolean;
  id: string | number;
}

/**
 * Typed access to the fields of one parsed file. `at` is the path of the value in the file (`annotations[3]`,
 * `line 12`), so a wrong field is reported as `annotations[3].answers` with the value found there.
 */
export class Fields {
  constructor(readonly file: string) {}

  fail(at: string, problem: string): never {
    throw new AnnotationFormatError(
      this.file,
      at,
      `${problem}; is this the benchmark's official file? Download it again from the link in the README`,
    );
  }

  private expected(at: string, what: string, value: unknown): never {
    this.fail(at, `is not ${what} (found ${describe(value)})`);
  }

  object(value: unknown, at: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      this.expected(at, "an object", value);
    return value as Record<string, unknown>;
  }

  array(value: unknown, at: string): unknown[] {
    if (!Array.isArray(value)) this.expected(at, "a list", value);
    return value;
  }

  string(value: unknown, at: string): string {
    if (typeof value !== "string") this.expected(at, "a string", value);
    return value;
  }

  number(value: unknown, at: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) this.expected(at, "a number", value);
    return value;
  }

  integer(value: unknown, at: string): number {
    if (!Number.isSafeInteger(value)) this.expected(at, "an integer", value);
    return value as number;
  }

  boolean(value: unknown, at: string): boolean {
    if (typeof value !== "boolean") this.expected(at, "true or false", value);
    return value;
  }

  /** A question or image id: a number or a string, as the benchmark writes it. */
  id(value: unknown, at: string): string | number {
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) return value;
    this.expected(at, "an id (number or string)", value);
  }

  /** `obj[key]`, which must be present. */
  get(obj: Record<string, unknown>, key: string, at: string): unknown {
    if (!(key in obj)) this.fail(child(at, key), "is missing");
    return obj[key];
  }

  /** `record[key]` (record, at `at`, must be an object) checked to be of `kind`. */
  field<K extends keyof KindType>(record: unknown, key: string, kind: K, at: string): KindType[K] {
    const value = this.get(this.object(record, at), key, at);
    const check = this[kind] as (this: Fields, v: unknown, at: string) => KindType[K];
    return check.call(this, value, child(at, key));
  }

  /** `obj[key]` as a list of strings. */
  strings(obj: Record<string, unknown>, key: string, at: string): string[] {
    const path = child(at, key);
    return this.array(this.get(obj, key, at), path).map((v, i) => this.string(v, `${path}[${i}]`));
  }
}

/** The path of `key` in the value at `at`; the root's fields are named alone (`annotations`). */
const child = (at: string, key: string): string => (at === ROOT ? key : `${at}.${key}`);

/** The `at` of a file's top-level value. */
export const ROOT = "(root)";

/** A value as the file has it, cut short: what the error message shows next to what was expected. */
function describe(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 60)}...` : json;
}
