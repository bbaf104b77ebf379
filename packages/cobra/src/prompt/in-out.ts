import { pythonRstrip } from "@cobra-ts/mamba-lm";
import { NewlineTurnsPromptBuilder } from "./newline-turns.js";
import type { PromptBuilder, Role } from "./prompt-builder.js";
import { checkTurnRole, cleanMessage, wrapAssistant } from "./turns.js";

function wrapUser(message: string): string {
  return `In: ${message}\nOut: `;
}

/**
 * Cobra's MambaPromptBuilder (prompting/mamba_prompter.py), used for non-chat `mamba-*` backbones:
 * `In: {msg}\nOut: `, later user turns preceded by "\n", assistant turns `{msg}<|endoftext|>`; the prompt is
 * returned as built (its trailing space kept).
 */
export class MambaPromptBuilder extends NewlineTurnsPromptBuilder {
  protected wrapUser(message: string): string {
    return wrapUser(message);
  }
}

/**
 * Cobra's PurePromptBuilder (prompting/base_prompter.py; Llama-style `<s>`/`</s>`): `In: {msg}\nOut: ` with no
 * separator between turns, assistant turns `{msg}</s>`; the prompt drops a leading `<s>` and is rstripped (so it
 * ends with "Out:", without the space).
 */
export class PurePromptBuilder implements PromptBuilder {
  private static readonly BOS = "<s>";
  private prompt = "";
  private turnCount = 0;

  addTurn(role: Role, message: string): string {
    checkTurnRole(role, this.turnCount);
    const text = cleanMessage(message);
    const wrapped = this.turnCount % 2 === 0 ? wrapUser(text) : wrapAssistant(text, "</s>");
    this.prompt += wrapped;
    this.turnCount++;
    return wrapped;
  }

  getPotentialPrompt(message: string): string {
    return PurePromptBuilder.finish(this.prompt + wrapUser(message));
  }

  getPrompt(): string {
    return PurePromptBuilder.finish(this.prompt);
  }

  private static finish(prompt: string): string {
    const unprefixed = prompt.startsWith(PurePromptBuilder.BOS)
      ? prompt.slice(PurePromptBuilder.BOS.length)
      : prompt;
    return pythonRstrip(unprefixed);
  }
}
