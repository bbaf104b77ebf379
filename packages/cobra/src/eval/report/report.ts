import { readFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { FileNotFoundError, FileSystemError } from "@cobra-ts/core";
import { AnnotationFormatError } from "../errors.js";
import { flatMetrics } from "../metrics-table.js";
import type { EvalMetrics } from "../task.js";

/** One run folder's metrics.json, with the name it goes by in the report. */
export interface ReportRun {
  name: string;
  dir: string;
  metrics: EvalMetrics;
}

export async function readRun(dir: string): Promise<Omit<ReportRun, "name">> {
  const file = join(dir, "metrics.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new FileNotFoundError(file, "run metrics (is this a folder written by `cobra eval run`?)");
    throw new FileSystemError(`${file}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
  }
  let m: EvalMetrics;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new AnnotationFormatError(file, null, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof m?.task !== "string") throw new AnnotationFormatError(file, "task", "missing");
  if (typeof m.metrics !== "object" || m.metrics === null)
    throw new AnnotationFormatError(file, "metrics", "missing");
  return { dir, metrics: m };
}

/** Runs are named by their folder; folders that share a name are told apart by their path from the cwd. */
export function nameRuns(runs: readonly Omit<ReportRun, "name">[]): ReportRun[] {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(basename(r.dir), (counts.get(basename(r.dir)) ?? 0) + 1);
  return runs.map((r) => ({
    ...r,
    name: counts.get(basename(r.dir))! > 1 ? relative(".", r.dir) || "." : basename(r.dir),
  }));
}

export interface ReportTable {
  header: string[];
  rows: string[][];
  /** Metric names, in columns after the fixed ones. */
  metrics: string[];
  /** values[run][metric], null where the run has no such metric. */
  values: (number | null)[][];
}

const variantText = (m: EvalMetrics) =>
  Object.entries((m.variant as Record<string, string> | undefined) ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") || "-";

/** Runs x (task, split, n, variant, every metric any run has, in first-seen order), in percent to 2 decimals. */
export function reportTable(runs: readonly ReportRun[]): ReportTable {
  const metrics: string[] = [];
  for (const r of runs)
    for (const [k] of flatMetrics(r.metrics.metrics)) if (!metrics.includes(k)) metrics.push(k);
  const values = runs.map((r) => {
    const flat = new Map(flatMetrics(r.metrics.metrics));
    return metrics.map((k) => flat.get(k) ?? null);
  });
  const header = ["run", "task", "split", "n", "variant", ...metrics];
  const rows = runs.map((r, i) => [
    r.name,
    r.metrics.task,
    r.metrics.split ?? "-",
    `${r.metrics.n_examples}${r.metrics.subset ? " (subset)" : ""}`,
    variantText(r.metrics),
    ...values[i].map((v) => (v === null ? "-" : v.toFixed(2))),
  ]);
  return { header, rows, metrics, values };
}

/** A plain-text table for the terminal: columns padded, numbers right-aligned. */
export function textTable(t: ReportTable): string {
  const all = [t.header, ...t.rows];
  const widths = t.header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const numeric = (c: number) => c >= 3 && c !== 4;
  return all
    .map((r) =>
      r
        .map((cell, c) => (numeric(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const mdCell = (s: string) => s.replaceAll("|", "\\|");

export function markdownTable(t: ReportTable): string {
  const align = t.header.map((_, c) => (c >= 3 && c !== 4 ? "---:" : "---"));
  return [t.header, align, ...t.rows].map((r) => `| ${r.map(mdCell).join(" | ")} |`).join("\n");
}

const xml = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Colorblind-safe (Okabe-Ito) colors, one per run. */
const COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

/** A grouped bar chart: one group per metric, one bar per run, on a 0-100 axis; the value above each bar. */
export function svgBarChart(t: ReportTable, runNames: readonly string[]): string {
  const bar = 18;
  const gap = 28;
  const left = 48;
  const top = 20;
  const plot = 240;
  const groupWidth = runNames.length * bar;
  const width = left + t.metrics.length * (groupWidth + gap) + gap;
  const legendTop = top + plot + 70;
  const height = legendTop + runNames.length * 18 + 10;
  const y = (v: number) => top + plot - (Math.max(0, Math.min(100, v)) / 100) * plot;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (const tick of [0, 25, 50, 75, 100]) {
    parts.push(
      `<line x1="${left}" x2="${width - gap / 2}" y1="${y(tick)}" y2="${y(tick)}" stroke="#dddddd"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`,
    );
  }
  t.metrics.forEach((metric, m) => {
    const x0 = left + gap + m * (groupWidth + gap);
    runNames.forEach((run, r) => {
      const v = t.values[r][m];
      if (v === null) return;
      const x = x0 + r * bar;
      parts.push(
        `<rect x="${x}" y="${y(v)}" width="${bar - 2}" height="${top + plot - y(v)}" fill="${COLORS[r % COLORS.length]}"><title>${xml(`${run}: ${metric} ${v.toFixed(2)}`)}</title></rect>`,
        `<text x="${x + (bar - 2) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="8">${v.toFixed(1)}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + groupWidth / 2}" y="${top + plot + 16}" text-anchor="middle">${xml(metric)}</text>`,
    );
  });
  runNames.forEach((run, r) => {
    const yy = legendTop + r * 18;
    parts.push(
      `<rect x="${left}" y="${yy - 10}" width="12" height="12" fill="${COLORS[r % COLORS.length]}"/>`,
      `<text x="${left + 18}" y="${yy}">${xml(run)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** The Markdown report: the table, then each run's model and subset. */
export function markdownReport(runs: readonly ReportRun[], t: ReportTable, chartFile: string): string {
  const notes = runs.map((r) => {
    const subset = r.metrics.subset as { limit?: number; seed?: number } | null | undefined;
    return `- \`${r.name}\`: model \`${String(r.metrics.model ?? "?")}\`${subset ? `, subset of ${subset.limit} (seed ${subset.seed})` : ""}`;
  });
  return `# cobra eval report\n\nMetrics in percent.\n\n${markdownTable(t)}\n\n${notes.join("\n")}\n\n![metrics](${chartFile})\n`;
}
