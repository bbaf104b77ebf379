/** Cobra's roles: the user is "human", the model "gpt"; turns alternate, starting with "human". */
export type Role = "human" | "gpt";

export interface Turn {
  role: Role;
  message: string;
}

/** Cobra's `PromptBuilder`: builds a multi-turn prompt string one turn at a time. */
export interface PromptBuilder {
  /** Appends a turn and returns the text it added. */
  addTurn(role: Role, message: string): string;
  /** The prompt as it would be with one more user message (which is used as given, unlike addTurn). */
  getPotentialPrompt(message: string): string;
  /** The prompt to tokenize; the model's answer follows it. */
  getPrompt(): string;
}

/** Runs every turn through `builder` and returns its prompt. */
export function buildPrompt(builder: PromptBuilder, turns: readonly Turn[]): string {
  for (const turn of turns) builder.addTurn(turn.role, turn.message);
  return builder.getPrompt();
}
