import type { PromptBuilder, Role } from "./prompt-builder.js";
import { checkTurnRole, cleanMessage, wrapAssistant } from "./turns.js";

const EOS = "<|endoftext|>";

/**
 * The shape shared by Cobra's Zephyr and Mamba prompters: user turns wrapped by `wrapUser`, every user turn
 * after the first preceded by "\n", assistant turns `{msg}<|endoftext|>`, and the prompt returned as built.
 */
export abstract class NewlineTurnsPromptBuilder implements PromptBuilder {
  private prompt = "";
  private turnCount = 0;

  protected abstract wrapUser(message: string): string;

  addTurn(role: Role, message: string): string {
    checkTurnRole(role, this.turnCount);
    const text = cleanMessage(message);
    let wrapped: string;
    if (this.turnCount === 0) wrapped = this.wrapUser(text);
    else if (this.turnCount % 2 === 0) wrapped = `\n${this.wrapUser(text)}`;
    else wrapped = wrapAssistant(text, EOS);
    this.prompt += wrapped;
    this.turnCount++;
    return wrapped;
  }

  /** As Cobra: the message is used raw, and a later user turn gets no leading "\n" here (unlike addTurn). */
  getPotentialPrompt(message: string): string {
    return this.prompt + this.wrapUser(message);
  }

  getPrompt(): string {
    return this.prompt;
  }
}
