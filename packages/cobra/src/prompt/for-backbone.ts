import { InvalidArgumentError } from "@cobra-ts/core";
import { MambaPromptBuilder } from "./in-out.js";
import type { PromptBuilder } from "./prompt-builder.js";
import { ZephyrChatPromptBuilder } from "./zephyr-chat.js";

/** A fresh prompt builder for an LLM backbone id, as Cobra's `MambaLLMBackbone.prompt_builder_fn` picks it. */
export function createPromptBuilder(llmBackboneId: string): PromptBuilder {
  if (llmBackboneId.endsWith("zephyr")) return new ZephyrChatPromptBuilder();
  if (llmBackboneId.startsWith("mamba")) return new MambaPromptBuilder();
  throw new InvalidArgumentError(`llmBackboneId: no prompt builder for ${JSON.stringify(llmBackboneId)}`);
}
