import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FileNotFoundError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { AnnotationFormatError, Fields, ROOT, readJson, readJsonLines } from "./annotations.js";
import { useDataDir } from "./test-helpers.js";

const dataDir = useDataDir();

async function failure(p: Promise<unknown> | (() => unknown)): Promise<AnnotationFormatError> {
  const e = await (typeof p === "function" ? Promise.resolve().then(p) : p).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AnnotationFormatError);
  return e as AnnotationFormatError;
}

describe("annotation files (one reader for every task)", () => {
  it("names the file, the field path and the value found", async () => {
    const f = new Fields("val.json");
    const e = await failure(() => f.field({ answers: [{ answer: 3 }] }, "answers", "string", "[4]"));
    expect(e.field).toBe("[4].answers");
    expect(e.message).toMatch(
      /^val\.json: field \[4\]\.answers: is not a string \(found \[\{"answer":3\}\]\)/,
    );
    expect((await failure(() => f.field({}, "label", "integer", "line 2"))).message).toMatch(
      /field line 2\.label: is missing/,
    );
    expect((await failure(() => f.field({ id: 1.5 }, "id", "integer", "line 2"))).message).toMatch(
      /line 2\.id: is not an integer \(found 1\.5\)/,
    );
    // The root's fields are named alone.
    expect((await failure(() => f.field({}, "annotations", "array", ROOT))).field).toBe("annotations");
  });

  it("names the bad line of a JSON Lines file, and a file that is not JSON", async () => {
    const dir = await dataDir({ "a.jsonl": '{"x": 1}\n\n{"x": \n', "b.json": "{oops" });
    const line = await failure(readJsonLines(join(dir, "a.jsonl"), "POPE file"));
    expect(line.field).toBe("line 3");
    expect(line.message).toMatch(/a\.jsonl: field line 3: is not valid JSON .*expected the POPE file/);
    const whole = await failure(readJson(join(dir, "b.json"), "GQA questions"));
    expect(whole.field).toBeNull();
  });

  it("a missing file names what it is; a folder in its place is a format error", async () => {
    const dir = await dataDir({});
    await expect(readJson(join(dir, "val.json"), "VizWiz annotations")).rejects.toThrow(FileNotFoundError);
    await mkdir(join(dir, "test.jsonl"));
    expect((await failure(readJsonLines(join(dir, "test.jsonl"), "VSR file"))).message).toMatch(
      /is a folder; expected the VSR file/,
    );
  });
});
