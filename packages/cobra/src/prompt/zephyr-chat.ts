import { NewlineTurnsPromptBuilder } from "./newline-turns.js";

/**
 * Cobra's ZephyrChatPromptBuilder (cobra/models/backbones/llm/prompting/zephyr_prompter.py), used for
 * `mamba-2.8b-zephyr`: `<|user|>\n{msg}<|endoftext|>\n<|assistant|>\n`, later user turns preceded by "\n",
 * assistant turns `{msg}<|endoftext|>`. The prompt keeps its trailing "\n" (no rstrip, unlike PurePromptBuilder):
 * the released checkpoint was trained with it. The system prompt is always empty.
 */
export class ZephyrChatPromptBuilder extends NewlineTurnsPromptBuilder {
  protected wrapUser(message: string): string {
    return `<|user|>\n${message}<|endoftext|>\n<|assistant|>\n`;
  }
}
