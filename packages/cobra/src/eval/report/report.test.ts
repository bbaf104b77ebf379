import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markdownTable, nameRuns, readRun, reportTable, svgBarChart, textTable } from "./report.js";

let dir = "";
const run = async (name: string, metrics: object) => {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, "metrics.json"), JSON.stringify(metrics));
  return join(dir, name);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "eval-report-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("cobra eval report", () => {
  it("a table of runs x metrics, nested metrics flattened, a dash where a run lacks one", async () => {
    const a = await run("fp32", {
      task: "vqav2",
      split: null,
      n_examples: 10,
      metrics: { accuracy: 77.8123, per_answer_type: { "yes/no": 90, number: 55.5, other: 70.25 } },
      variant: {},
      subset: { limit: 10, seed: 21 },
    });
    const b = await run("q8", {
      task: "vqav2",
      split: null,
      n_examples: 10,
      metrics: { accuracy: 76.006 },
      variant: { "backend.lm": "wasm" },
      subset: null,
    });
    const runs = nameRuns(await Promise.all([a, b].map(readRun)));
    const t = reportTable(runs);
    expect(t.header).toEqual([
      "run",
      "task",
      "split",
      "n",
      "variant",
      "accuracy",
      "per_answer_type.yes/no",
      "per_answer_type.number",
      "per_answer_type.other",
    ]);
    expect(t.rows).toEqual([
      ["fp32", "vqav2", "-", "10 (subset)", "-", "77.81", "90.00", "55.50", "70.25"],
      ["q8", "vqav2", "-", "10", "backend.lm=wasm", "76.01", "-", "-", "-"],
    ]);
    expect(markdownTable(t).split("\n")[2]).toBe(
      "| fp32 | vqav2 | - | 10 (subset) | - | 77.81 | 90.00 | 55.50 | 70.25 |",
    );
    expect(textTable(t).split("\n")[1]).toMatch(
      /^fp32 +vqav2 +- +10 \(subset\) +- +77\.81 +90\.00 +55\.50 +70\.25$/,
    );
  });

  it("the SVG has one bar per present value, heights on a 0-100 axis, names escaped", () => {
    const t = { header: [], rows: [], metrics: ["acc<1>"], values: [[50], [null], [100]] };
    const svg = svgBarChart(t, ["a&b", "c", "d"]);
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="16" height="([\d.]+)"/g)];
    // plot 240 px tall from y 20: 50 -> height 120 at y 140; 100 -> height 240 at y 20
    expect(bars.map((m) => [Number(m[1]), Number(m[2])])).toEqual([
      [140, 120],
      [20, 240],
    ]);
    expect(svg).toContain("acc&lt;1&gt;");
    expect(svg).toContain(">a&amp;b</text>");
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it("folders that share a name are told apart; a folder without metrics.json is named", async () => {
    const x = await run("x/same", { task: "pope", split: "random", n_examples: 1, metrics: { accuracy: 1 } });
    const y = await run("y/same", { task: "pope", split: "random", n_examples: 1, metrics: { accuracy: 2 } });
    const names = nameRuns(await Promise.all([x, y].map(readRun))).map((r) => r.name);
    expect(names[0]).toMatch(/x\/same$/);
    expect(names[1]).toMatch(/y\/same$/);
    await expect(readRun(join(dir, "nowhere"))).rejects.toThrow(/nowhere\/metrics\.json/);
  });
});
