// What `cobra convert --out` may replace: only its own conversions, never a user's files.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { captureIO, RELEASE_SOURCES } from "./fixture.js";

const BIN = join(import.meta.dirname, "../dist/cli.js");
const SOURCE_ARGS = [
  "--checkpoint",
  RELEASE_SOURCES.checkpoint,
  "--dino",
  RELEASE_SOURCES.dino,
  "--siglip",
  RELEASE_SOURCES.siglip,
  "--llm",
  RELEASE_SOURCES.llm,
];

let work = "";
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-convert-out-"));
  if (!(await stat(BIN).catch(() => null)))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function convert(out: string, ...extra: string[]) {
  const io = captureIO();
  const code = await runCli(["convert", ...SOURCE_ARGS, "--out", out, ...extra], io);
  return { code, err: io.err };
}

/** A folder holding a user's files: notes.txt and sub/y. */
async function userFolder(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, "sub"), { recursive: true });
  await writeFile(join(dir, "notes.txt"), "my notes");
  await writeFile(join(dir, "sub/y"), "y");
  return dir;
}

const exists = async (p: string) => (await stat(p).catch(() => null)) !== null;

describe("cobra convert --out", () => {
  it("refuses a folder of someone else's files and leaves them as they were", async () => {
    const dir = await userFolder("user");
    const r = await convert(dir);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/exists and is not a converted model \(it holds notes\.txt, sub\).*--force/);
    expect(await readFile(join(dir, "notes.txt"), "utf8")).toBe("my notes");
    expect(await readFile(join(dir, "sub/y"), "utf8")).toBe("y");
    expect((await readdir(work)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("never turns a file into a folder, --force or not", async () => {
    const file = join(work, "a-file");
    await writeFile(file, "keep me");
    for (const extra of [[], ["--force"]]) {
      const r = await convert(file, ...extra);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/is a file, not a folder/);
      expect(await readFile(file, "utf8")).toBe("keep me");
    }
  });

  it("refuses the current folder (a real process run with --out .)", async () => {
    const cwd = await userFolder("cwd");
    const r = await promisify(execFile)(process.execPath, [BIN, "convert", ...SOURCE_ARGS, "--out", "."], {
      cwd,
    }).catch((e) => e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/InvalidArgumentError: --out \. is the current folder or contains it/);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(await readFile(join(cwd, "notes.txt"), "utf8")).toBe("my notes");
  });

  it("writes into an empty folder, replaces its own conversion, and replaces a user's folder only with --force", async () => {
    const empty = join(work, "empty");
    await mkdir(empty);
    expect((await convert(empty)).code).toBe(0);
    expect(await exists(join(empty, "cobra.json"))).toBe(true);
    const again = await convert(empty, "--force");
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/converted to/);

    const dir = await userFolder("user-forced");
    expect((await convert(dir, "--force")).code).toBe(0);
    expect(await exists(join(dir, "cobra.json"))).toBe(true);
    expect(await exists(join(dir, "notes.txt"))).toBe(false);
  });

  it("cleans the temp folder a killed conversion left behind, and only this output's", async () => {
    const out = join(work, "killed");
    const child = spawn(process.execPath, [BIN, "convert", ...SOURCE_ARGS, "--out", out], {
      stdio: "ignore",
    });
    const tmp = await waitForTempFolder(work, "killed", child);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(await exists(join(work, tmp))).toBe(true);

    // A temp folder of another output, and one of a process still running (this one), must survive.
    const other = join(work, `.other.tmp-${child.pid}-1`);
    const live = join(work, `.killed.tmp-${process.pid}-1`);
    await mkdir(other);
    await mkdir(live);
    expect((await convert(out)).code).toBe(0);
    expect(await exists(join(work, tmp))).toBe(false);
    expect(await exists(other)).toBe(true);
    expect(await exists(live)).toBe(true);
    await rm(other, { recursive: true });
    await rm(live, { recursive: true });
  });
});

async function waitForTempFolder(dir: string, name: string, child: ChildProcess): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const tmp = (await readdir(dir)).find((n) => n.startsWith(`.${name}.tmp-`));
    if (tmp) return tmp;
    if (child.exitCode !== null)
      throw new Error(`convert exited (${child.exitCode}) before writing anything`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no temp folder appeared within 60 s");
}
