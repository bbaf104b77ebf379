import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";

export const RUN_FILE = "run.json";

/** What makes two runs the same run: a run folder resumes only with these unchanged. */
export interface RunConfig {
  task: string;
  split: string | null;
  model: string;
  limit: number | null;
  seed: number;
  variant: Record<string, string>;
}

/** Writes `file` whole or not at all (a kill mid-write leaves the old file). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

const canonical = (c: RunConfig) =>
  JSON.stringify({ ...c, variant: Object.fromEntries(Object.entries(c.variant).sort()) });

/**
 * Records the run's arguments in `<out>/run.json`, or checks them against the ones recorded: resuming with other
 * arguments would mix two runs' answers in one predictions file.
 */
export async function claimRunFolder(outDir: string, config: RunConfig): Promise<void> {
  const file = join(outDir, RUN_FILE);
  let text: string | null = null;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (text === null) {
    await writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  let before: RunConfig;
  try {
    before = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${file} is not valid JSON: give another --out, or delete that folder`);
  }
  if (canonical(before) !== canonical(config)) {
    const diff = (Object.keys(config) as (keyof RunConfig)[])
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(config[k]))
      .map((k) => `${k} ${JSON.stringify(before[k])} there, ${JSON.stringify(config[k])} now`);
    throw new InvalidArgumentError(
      `${outDir} holds another run (${diff.join("; ")}): resume it with the same arguments, or give another --out`,
    );
  }
}
