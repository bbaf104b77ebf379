import { access, readFile } from "node:fs/promises";
import { FileNotFoundError, FileSystemError } from "@cobra-ts/core";
import { AnnotationFormatError } from "../errors.js";

/**
 * Reads an annotation file's bytes; a missing file names what it is and where to get it, so `--data` pointing
 * at the wrong folder is one clear line.
 */
export async function readAnnotationBytes(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(file, what);
    if (code === "EISDIR") throw new AnnotationFormatError(file, null, `is a folder; expected the ${what}`);
    throw new FileSystemError(`${file}: cannot read the ${what} (${code ?? (e as Error).message})`, {
      cause: e,
    });
  }
}

export const fileExists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export async function readJsonFile(file: string, what: string): Promise<unknown> {
  const text = (await readAnnotationBytes(file, what)).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AnnotationFormatError(
      file,
      null,
      `not valid JSON (${(e as Error).message}); expected the ${what}`,
    );
  }
}

/** One JSON value per non-empty line; a bad line is named by its number. */
export async function readJsonLines(file: string, what: string): Promise<unknown[]> {
  const text = (await readAnnotationBytes(file, what)).toString("utf8");
  const out: unknown[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      throw new AnnotationFormatError(
        file,
        null,
        `line ${i + 1} is not valid JSON (${(e as Error).message}); expected one ${what} object a line`,
      );
    }
  }
  return out;
}

type Kind = "string" | "number" | "integer" | "object" | "array";

const kindOf: Record<Kind, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number" && Number.isFinite(v),
  integer: (v) => Number.isSafeInteger(v),
  object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  array: Array.isArray,
};

/** What `field` returns for each kind. */
interface KindType {
  string: string;
  number: number;
  integer: number;
  object: Record<string, unknown>;
  array: unknown[];
}

/**
 * `record[name]` checked to be of `kind`; otherwise an AnnotationFormatError naming the file and the field's
 * path (`where` says which record, e.g. "line 12").
 */
export function field<K extends Kind>(
  record: unknown,
  name: string,
  kind: K,
  file: string,
  where: string,
): KindType[K] {
  if (!kindOf.object(record))
    throw new AnnotationFormatError(file, where, `expected an object, got ${describe(record)}`);
  const value = (record as Record<string, unknown>)[name];
  if (value === undefined) throw new AnnotationFormatError(file, `${where}.${name}`, "missing");
  if (!kindOf[kind](value))
    throw new AnnotationFormatError(
      file,
      `${where}.${name}`,
      `expected ${article(kind)}, got ${describe(value)}`,
    );
  return value as KindType[K];
}

function article(kind: Kind): string {
  return kind === "integer" || kind === "object" || kind === "array" ? `an ${kind}` : `a ${kind}`;
}

function describe(v: unknown): string {
  const json = JSON.stringify(v);
  return json === undefined ? String(v) : json.length > 60 ? `${json.slice(0, 60)}...` : json;
}
