import { InvalidArgumentError } from "@cobra-ts/core";
import { pythonStrip } from "@cobra-ts/mamba-lm";
import type { Role } from "./prompt-builder.js";

/** Cobra asserts that turns alternate human, gpt, human, ... */
export function checkTurnRole(role: Role, turnCount: number): void {
  const expected: Role = turnCount % 2 === 0 ? "human" : "gpt";
  if (role !== expected) {
    throw new InvalidArgumentError(
      `prompt turn ${turnCount}: role must be "${expected}" (turns alternate human/gpt, starting with human), got ${JSON.stringify(role)}`,
    );
  }
}

/** Cobra drops the `<image>` placeholder (the image is prepended as embeddings) and strips the message. */
export function cleanMessage(message: string): string {
  return pythonStrip(message.replaceAll("<image>", ""));
}

/** An empty assistant message becomes one space, as Cobra's `wrap_gpt` does. */
export function wrapAssistant(message: string, eos: string): string {
  return `${message !== "" ? message : " "}${eos}`;
}
