import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import { writeFileAtomic } from "../eval/run/run-config.js";
import { describeModel, type ModelIdentity } from "../model-identity.js";

export const QUEUE_RUN_FILE = "queue.json";

/** What `<out>/queue.json` records of a run answered through the queue. */
export interface QueueRun {
  /** Names the run's jobs and answers in Redis; kept, so a coordinator started again finds them. */
  run: string;
  model: ModelIdentity;
}

/**
 * The run folder's queue identity: made on the first start, read on the next ones. A model whose files changed
 * since (converted again, another version) is refused: answers of two models would be scored as one run.
 */
export async function claimQueueRun(outDir: string, model: ModelIdentity): Promise<QueueRun> {
  const file = join(outDir, QUEUE_RUN_FILE);
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw e;
  });
  if (text === null) {
    const fresh: QueueRun = { run: randomUUID(), model };
    await writeFileAtomic(file, `${JSON.stringify(fresh, null, 2)}\n`);
    return fresh;
  }
  let before: QueueRun;
  try {
    before = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${file} is not valid JSON: give another --out, or delete that folder`);
  }
  if (typeof before?.run !== "string" || typeof before.model?.digest !== "string")
    throw new InvalidArgumentError(`${file} is not a queue run's record: give another --out`);
  if (before.model.digest !== model.digest)
    throw new InvalidArgumentError(
      `${file}: this run was started with model ${describeModel(before.model)}, --model now has ` +
        `${describeModel(model)}: resume it with that model, or give another --out`,
    );
  return before;
}
