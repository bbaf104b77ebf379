/**
 * The part contracts: what `@cobra-ts/cobra` needs of a vision encoder, a projector, a language model, a
 * tokenizer and a prompt builder. Any object with these members will do (nothing checks a class), so an
 * ablation swaps one part without forking the rest.
 */
import type { Tensor } from "./tensor.js";

/** A float32 tensor: the one spelling every part takes and returns. */
export type FloatTensor = Tensor<Float32Array>;

/** Row-major float rows with their shape: a FloatTensor fits, so does any `{ data, shape }`. */
export type FloatRows = Pick<FloatTensor, "data"> & { shape: readonly number[] };

export interface Cancellable {
  signal?: AbortSignal;
}

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B: what PIL's `Image.convert("RGB")` holds.
 * Decoders produce it; a vision encoder takes it and does its own preprocessing.
 */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

export interface VisionFeatures {
  /** [batch, patches, featureDim]. */
  features: FloatTensor;
  /** A fused encoder's features per tower, in concatenation order (absent for one tower). */
  towers?: { name: string; features: FloatTensor }[];
  /** The normalized pixels each tower took, [1, 3, S, S] (for inspection; optional). */
  pixels?: { name: string; data: Float32Array }[];
}

/** A decoded image -> patch features. The encoder owns its preprocessing (resize, crop, normalization). */
export interface VisionEncoder {
  readonly numPatches: number;
  readonly featureDim: number;
  encode(image: RgbImage, options?: Cancellable): Promise<VisionFeatures>;
  release?(): Promise<void>;
}

/** Patch features [batch, patches, featureDim] -> LM input rows [batch, tokens, dModel]. */
export interface Projector {
  project(features: FloatTensor, options?: Cancellable): Promise<FloatTensor>;
  release?(): Promise<void>;
}

/** Token ids: one sequence, or one row per sequence of a batch (all rows the same length). */
export type TokenIds = readonly number[] | readonly (readonly number[])[];

/** What a language model reads in one call: rows placed before the ids (an image), and/or token ids. */
export interface LanguageModelInput {
  /** [batch, P, dModel]. */
  prefixEmbeds?: FloatRows;
  ids?: TokenIds;
}

/**
 * The recurrent state after some positions, for `batch` sequences. States are values: a call never changes the
 * state it was given, so one saved after a prefix can seed any number of continuations.
 */
export interface LanguageModelState {
  readonly batch: number;
  /** Bytes that `LanguageModel.restoreState` of the same model turns back into this state (async: a state
   * may live on a GPU). */
  toBytes(): Promise<Uint8Array>;
}

export interface LanguageModelOutput<S extends LanguageModelState = LanguageModelState> {
  /** [batch, vocab] at the last position. */
  logits: FloatTensor;
  /** The state after the last position. */
  state: S;
}

/** A causal language model with a fixed-size recurrent state (Mamba's promise: decoding cost does not grow). */
export interface LanguageModel<S extends LanguageModelState = LanguageModelState> {
  readonly vocabSize: number;
  readonly dModel: number;
  /** Runs [prefix rows | ids] from `state` (a zero state when absent). */
  prefill(input: LanguageModelInput, state?: S, options?: Cancellable): Promise<LanguageModelOutput<S>>;
  /** One position: one id per sequence of the state's batch. */
  step(ids: number | readonly number[], state: S, options?: Cancellable): Promise<LanguageModelOutput<S>>;
  newState(batch?: number): S;
  restoreState(bytes: Uint8Array): S;
  /** One state of the summed batch, rows in argument order (batched decoding of separate sequences). */
  stackStates(states: readonly S[]): S;
  /** These rows of a state's batch, in this order (drops finished sequences, fans one row out). */
  selectRows(state: S, rows: readonly number[]): S;
  release?(): Promise<void>;
}

/** Incremental detokenization: the pieces add up to the one-shot decode of the same ids. */
export interface TokenStream {
  /** The text that became final with this id ("" while it is held back, e.g. half a UTF-8 character). */
  push(id: number): string;
  /** What was held back, at the end. */
  finish(): string;
  /** Everything emitted so far plus what is held back. */
  readonly text: string;
}

export interface Tokenizer {
  readonly eosTokenId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  /** Streams decoded text; generation uses a decode-based stream when the tokenizer has none. */
  createStreamDecoder?(options: {
    skipSpecialTokens?: boolean;
    cleanUpTokenizationSpaces?: boolean;
  }): TokenStream;
}

/** Cobra's roles: the user is "human", the model "gpt"; turns alternate, starting with "human". */
export type PromptRole = "human" | "gpt";

/** Builds a multi-turn prompt string one turn at a time (Cobra's `PromptBuilder`). */
export interface PromptBuilder {
  /** Appends a turn and returns the text it added. */
  addTurn(role: PromptRole, message: string): string;
  /** The prompt as it would be with one more user message. */
  getPotentialPrompt(message: string): string;
  /** The prompt to tokenize; the model's answer follows it. */
  getPrompt(): string;
}
