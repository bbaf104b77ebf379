// `cobra eval` as a user's shell runs it: a run killed mid-way (SIGKILL, no chance to clean up) and started
// again with the same arguments ends with the metrics of an uninterrupted run, no question lost or answered twice.
import { appendFile, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { BIN, runCobra, startCli } from "./cli-process.js";
import { IMAGES_DIR, writePope } from "./eval-data.js";
import { RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
let data = "";
const PER_IMAGE = 60; // random split: 6 images x 60 = 360 questions

beforeAll(async () => {
  if (!(await stat(BIN).catch(() => null)))
    throw new Error("packages/cobra/dist/cli.js is missing: build the package first");
  work = await mkdtemp(join(tmpdir(), "cobra-eval-process-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  data = await writePope(join(work, "pope"), PER_IMAGE);
});
afterAll(() => rm(work, { recursive: true, force: true }));

const cobra = (args: string[], killWhen?: () => Promise<boolean>, killSignal?: NodeJS.Signals) =>
  runCobra(args, { killWhen, killSignal });

const lines = async (file: string) =>
  (await readFile(file, "utf8").catch(() => "")).split("\n").filter((l) => l.trim() !== "");
const runArgs = (out: string) => [
  "eval",
  "run",
  "--task",
  "pope",
  "--model",
  model,
  "--data",
  data,
  "--images",
  IMAGES_DIR,
  "--out",
  out,
  "--variant",
  "batch=1", // one line per question, so the kill lands between questions
];

describe("cobra eval run: killed and resumed", () => {
  it("ends with the same predictions and metrics as an uninterrupted run", async () => {
    const total = 6 * PER_IMAGE;
    const whole = join(work, "whole");
    const first = await cobra(runArgs(whole));
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });

    const resumed = join(work, "resumed");
    const file = join(resumed, "predictions.jsonl");
    const killed = await cobra(runArgs(resumed), async () => (await lines(file)).length >= 40);
    expect(killed.signal, "the run finished before it could be killed: make the data set larger").toBe(
      "SIGKILL",
    );
    const partial = (await lines(file)).length;
    expect(partial).toBeGreaterThanOrEqual(40);
    expect(partial).toBeLessThan(total);
    // as if the kill had landed inside a write: half a line, no newline
    await appendFile(file, '{"question_id": 3, "answer": "Ye');

    const again = await cobra(runArgs(resumed));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/cut a torn last line \(\d+ bytes\)/);

    const a = (await lines(file)).map((l) => JSON.parse(l));
    const b = (await lines(join(whole, "predictions.jsonl"))).map((l) => JSON.parse(l));
    expect(a).toHaveLength(total);
    expect(new Set(a.map((p) => p.question_id)).size).toBe(total);
    const byId = new Map(b.map((p) => [p.question_id, p]));
    for (const p of a) expect(p).toEqual(byId.get(p.question_id));
    const metricsOf = async (dir: string) => JSON.parse(await readFile(join(dir, "metrics.json"), "utf8"));
    const [ma, mb] = [await metricsOf(resumed), await metricsOf(whole)];
    expect(ma.metrics).toEqual(mb.metrics);
    expect(ma.n_examples).toBe(total);

    // a finished run started again answers nothing and loads no model: the same metrics at once
    const third = await cobra(runArgs(resumed));
    expect(third.code).toBe(0);
    expect((await metricsOf(resumed)).metrics).toEqual(mb.metrics);

    const scored = await cobra([
      "eval",
      "score",
      "--task",
      "pope",
      "--data",
      data,
      "--predictions",
      file,
      "--json",
    ]);
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout)).toEqual({
      task: "pope",
      split: "random",
      n_examples: total,
      metrics: mb.metrics,
    });

    const report = await cobra(["eval", "report", whole, resumed, "--out", join(work, "report")]);
    expect(report.code, report.stderr).toBe(0);
    const [, w, r] = report.stdout.split("\n");
    expect(w.replace(/^whole +/, "")).toBe(r.replace(/^resumed +/, ""));
    expect((await stat(join(work, "report", "eval-report.svg"))).size).toBeGreaterThan(0);
  });

  it("Ctrl-C (SIGINT) stops with whole lines only and says how to resume", async () => {
    const out = join(work, "interrupted");
    const file = join(out, "predictions.jsonl");
    const stopped = await cobra(runArgs(out), async () => (await lines(file)).length >= 20, "SIGINT");
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(
      /cobra: AbortError: stopped with \d+ of 360 questions answered .*run the same command to resume/,
    );
    const text = await readFile(file, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    for (const l of text.trim().split("\n")) expect(() => JSON.parse(l)).not.toThrow();
  });

  it("on a terminal, a progress bar shows questions per second and the time left", async () => {
    const cli = startCli(runArgs(join(work, "terminal")), "terminal");
    await cli.waitFor(/pope \|.*\| \d+\/360 questions [\d.]+ questions\/s ETA \d+(s|m\d\ds)/);
    expect(await cli.exited).toBe(0);
    expect(cli.output).toMatch(/pope \(random\): 360 scored/);
  });
});
