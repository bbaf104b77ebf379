// Cobra's prompting (cobra/models/backbones/llm/prompting): the builders and the switch on the LLM backbone id.
export { createPromptBuilder } from "./for-backbone.js";
export { MambaPromptBuilder, PurePromptBuilder } from "./in-out.js";
export { buildPrompt, type Role, type Turn } from "./prompt-builder.js";
export { ZephyrChatPromptBuilder } from "./zephyr-chat.js";
