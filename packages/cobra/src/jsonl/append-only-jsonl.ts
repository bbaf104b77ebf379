import { readFile, stat, truncate } from "node:fs/promises";
import { FileNotFoundError, FileSystemError } from "@cobra-ts/core";

/**
 * An append-only JSON Lines file that a run writes one whole line at a time and a later run resumes: the
 * predictions of `cobra eval run`, the answers of `cobra batch`.
 */
export interface ParsedLines<T> {
  records: T[];
  /** Bytes of whole lines: what a run resumes after. */
  wholeBytes: number;
  /** A last line cut short (a run killed mid-write): not JSON and with no newline after it. */
  tornTail: boolean;
  /** The file's last line is whole but lacks its newline (edited by hand): one must be written first. */
  needsNewline: boolean;
}

export interface LineReader<T> {
  /** Checks one parsed line (an object, its fields, no record twice); throws an error naming the line. */
  check(value: unknown, line: number): T;
  /** The error for a line that is not JSON (and not a torn last line). */
  notJson(line: number, problem: string): Error;
  /** What the file is, for "... not found" (e.g. "predictions file"). */
  what: string;
}

/** Parses the lines; only a torn last line (a kill between the bytes of one write) is reported, not thrown. */
export function parseJsonLines<T>(text: string, reader: LineReader<T>): ParsedLines<T> {
  const records: T[] = [];
  const lines = text.split("\n");
  let offset = 0;
  let needsNewline = false;
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1;
    const start = offset;
    offset += Buffer.byteLength(line) + (last ? 0 : 1);
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (last) return { records, wholeBytes: start, tornTail: true, needsNewline };
      throw reader.notJson(i + 1, `line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    records.push(reader.check(value, i + 1));
    if (last) needsNewline = true;
  }
  return { records, wholeBytes: offset, tornTail: false, needsNewline };
}

export async function readJsonLines<T>(file: string, reader: LineReader<T>): Promise<ParsedLines<T>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileNotFoundError(file, reader.what);
    throw new FileSystemError(`${file}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
  return parseJsonLines(text, reader);
}

/** For a run resuming: the records so far (none when there is no file), a torn last line cut off. */
export async function resumeJsonLines<T>(
  file: string,
  reader: LineReader<T>,
): Promise<ParsedLines<T> & { cutBytes: number }> {
  let parsed: ParsedLines<T>;
  try {
    parsed = await readJsonLines(file, reader);
  } catch (e) {
    if (e instanceof FileNotFoundError)
      return { records: [], wholeBytes: 0, tornTail: false, needsNewline: false, cutBytes: 0 };
    throw e;
  }
  let cutBytes = 0;
  if (parsed.tornTail) {
    cutBytes = (await stat(file)).size - parsed.wholeBytes;
    await truncate(file, parsed.wholeBytes);
  }
  return { ...parsed, cutBytes };
}
