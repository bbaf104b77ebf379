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

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new FileNotFoundError(path, what);
    throw new FileSystemError(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A whole JSON file. */
export async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AnnotationFormatError(path, null, `is not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/**
 * A JSON file holding one object, as its entries in the file's order. `JSON.parse` puts integer-like keys
 * (GQA's question ids) first in numeric order; Python keeps the file's order, and vlm-evaluation's seeded
 * shuffle of the questions starts from it.
 */
export async function readJsonEntries(path: string, what: string): Promise<[string, unknown][]> {
  const text = await readText(path, what);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new AnnotationFormatError(path, null, `is not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
  const obj = new Fields(path).object(root, "(root)");
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

/** A JSON Lines file: one value per non-empty line. */
export async function readJsonLines(path: string, what: string): Promise<unknown[]> {
  const text = await readText(path, what);
  const values: unknown[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      values.push(JSON.parse(line));
    } catch (e) {
      throw new AnnotationFormatError(path, `line ${i + 1}`, `is not valid JSON (${(e as Error).message})`, {
        cause: e,
      });
    }
  });
  return values;
}

/**
 * Typed access to the fields of one parsed file. `at` is the path of the value in the file (`annotations[3]`),
 * so a wrong field is reported as `annotations[3].answers`.
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

  object(value: unknown, at: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      this.fail(at, "is not an object");
    return value as Record<string, unknown>;
  }

  array(value: unknown, at: string): unknown[] {
    if (!Array.isArray(value)) this.fail(at, "is not a list");
    return value;
  }

  string(value: unknown, at: string): string {
    if (typeof value !== "string") this.fail(at, "is not a string");
    return value;
  }

  number(value: unknown, at: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(at, "is not a number");
    return value;
  }

  boolean(value: unknown, at: string): boolean {
    if (typeof value !== "boolean") this.fail(at, "is not true or false");
    return value;
  }

  /** A question or image id: a number or a string, as the benchmark writes it. */
  id(value: unknown, at: string): string | number {
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) return value;
    this.fail(at, "is not an id (number or string)");
  }

  /** `obj[key]`, which must be present. */
  get(obj: Record<string, unknown>, key: string, at: string): unknown {
    if (!(key in obj)) this.fail(`${at}.${key}`, "is missing");
    return obj[key];
  }

  /** `obj[key]` as a list of strings. */
  strings(obj: Record<string, unknown>, key: string, at: string): string[] {
    return this.array(this.get(obj, key, at), `${at}.${key}`).map((v, i) =>
      this.string(v, `${at}.${key}[${i}]`),
    );
  }
}
