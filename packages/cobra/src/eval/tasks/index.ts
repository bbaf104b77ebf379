import { InvalidArgumentError } from "@cobra-ts/core";
import type { EvalTask } from "../task.js";
import { gqa } from "./gqa.js";
import { pope } from "./pope.js";
import { refcoco, refcocog, refcocoPlus } from "./refcoco.js";
import { textvqa } from "./textvqa.js";
import { vizwiz } from "./vizwiz.js";
import { vqav2 } from "./vqav2.js";
import { vsr } from "./vsr.js";

/** Every `cobra eval` task by its command-line name: adding a benchmark is one module and one line here. */
export const EVAL_TASKS: ReadonlyMap<string, EvalTask> = new Map(
  [vqav2, gqa, textvqa, vizwiz, pope, vsr, refcoco, refcocoPlus, refcocog].map((t) => [t.name, t]),
);

export function evalTask(name: string): EvalTask {
  const task = EVAL_TASKS.get(name);
  if (!task)
    throw new InvalidArgumentError(
      `no eval task ${JSON.stringify(name)}; choose one of ${[...EVAL_TASKS.keys()].join(", ")}`,
    );
  return task;
}
