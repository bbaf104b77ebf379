import type { PromptBuilder, Role } from "./prompt-builder.js";
import { checkTurnRole, cleanMessage, wrapAssistant } from "./turns.js";

const EOS = "<|endoftext|>";

function wrapUser(message: string): string {
  return `<|user|>\n${message}${EOS}\n<|assistant|>\n`;
}

/**
 * Cobra's ZephyrChatPromptBuilder (cobra/models/backbones/llm/prompting/zephyr_prompter.py), used for
 * `mamba-2.8b-zephyr`: `<|user|>\n{msg}<|endoftext|>\n<|assistant|>\n`, later user turns preceded by "\n",
 * assistant turns `{msg}<|endoftext|>`. The prompt keeps its trailing "\n" (no rstrip, unlike PurePromptBuilder):
 * the released checkpoint was trained with it. The system prompt is always empty.
 */
export class ZephyrChatPromptBuilder implements PromptBuilder {
  private prompt = "";
  private turnCount = 0;

  addTurn(role: Role, message: string): string {
    checkTurnRole(role, this.turnCount);
    const text = cleanMessage(message);
    let wrapped: string;
    if (this.turnCount === 0) wrapped = wrapUser(text);
    else if (this.turnCount % 2 === 0) wrapped = `\n${wrapUser(text)}`;
    else wrapped = wrapAssistant(text, EOS);
    this.prompt += wrapped;
    this.turnCount++;
    return wrapped;
  }

  /** As Cobra: the message is used raw, and a later user turn gets no leading "\n" here (unlike addTurn). */
  getPotentialPrompt(message: string): string {
    return this.prompt + wrapUser(message);
  }

  getPrompt(): string {
    return this.prompt;
  }
}
