/** Names of the LM graph's inputs and outputs: the contract between conversion and the runtime. */
/** [batch, positions, d_model]: every position's input row (image rows, then token embeddings). */
export const INPUTS_EMBEDS = "inputs_embeds";
/** [batch, vocab_padded]: logits at the last position. */
export const LOGITS = "logits";
/** [batch, positions, vocab_padded]: logits at every position (graphs built with `logits: "all"`). */
export const ALL_LOGITS = "all_logits";
export const convStateIn = (layer: number): string => `conv_state.${layer}`;
export const ssmStateIn = (layer: number): string => `ssm_state.${layer}`;
export const convStateOut = (layer: number): string => `conv_state_out.${layer}`;
export const ssmStateOut = (layer: number): string => `ssm_state_out.${layer}`;
