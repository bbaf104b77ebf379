import type { EvalMetrics } from "./task.js";

/** The metrics flattened to name -> value ("per_answer_type.yes/no"), in the task's order. */
export function flatMetrics(metrics: EvalMetrics["metrics"]): [string, number][] {
  const out: [string, number][] = [];
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value === "number") out.push([name, value]);
    else for (const [sub, v] of Object.entries(value)) out.push([`${name}.${sub}`, v]);
  }
  return out;
}

/** A few lines for a terminal: what was scored, then each metric in percent with two decimals. */
export function formatMetrics(m: EvalMetrics): string {
  const head = `${m.task}${m.split ? ` (${m.split})` : ""}: ${m.n_examples} scored`;
  const rows = flatMetrics(m.metrics);
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v.toFixed(2)}`)].join("\n");
}
