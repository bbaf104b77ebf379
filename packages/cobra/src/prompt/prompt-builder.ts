import type { PromptBuilder, PromptRole } from "@cobra-ts/core";

export type { PromptBuilder, PromptRole as Role } from "@cobra-ts/core";

export interface Turn {
  role: PromptRole;
  message: string;
}

/** Runs every turn through `builder` and returns its prompt. */
export function buildPrompt(builder: PromptBuilder, turns: readonly Turn[]): string {
  for (const turn of turns) builder.addTurn(turn.role, turn.message);
  return builder.getPrompt();
}
