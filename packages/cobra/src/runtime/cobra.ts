import {
  type FloatTensor,
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelState,
  type Projector,
  type PromptBuilder,
  PromptTooLongError,
  type RgbImage,
  type Tokenizer,
  throwIfAborted,
  type VisionEncoder,
} from "@cobra-ts/core";
import {
  type GenerateResult,
  generateBatch,
  limitPromptIds,
  type StreamChunk,
  streamGenerate,
} from "@cobra-ts/mamba-lm";
import type { CobraManifest } from "../manifest.js";
import { createPromptBuilder } from "../prompt/for-backbone.js";
import { type GenerationSettings, type PromptRequest, promptString } from "./request.js";

/**
 * The four swappable parts, plus how prompts are built: any object implementing each contract will do (nothing
 * checks a class), so an ablation swaps one part: `Cobra.fromParts({ ...cobra.parts, lm: mine }, cobra.settings)`.
 */
export interface CobraParts {
  encoder: VisionEncoder;
  projector: Projector;
  lm: LanguageModel;
  tokenizer: Tokenizer;
  /** A fresh prompt builder for each prompt; default: Cobra's builder for `settings.llmBackboneId`. */
  prompt?: () => PromptBuilder;
}

export interface CobraSettings {
  /** Chooses Cobra's prompt builder (zephyr chat for the released model) unless the parts bring their own. */
  llmBackboneId: string;
  /** Longest prompt in tokens (Cobra's llm_max_length). */
  maxPromptLength: number;
}

/** The released Cobra's settings (cobra+3b: mamba-2.8b-zephyr, llm_max_length 2048). */
export const DEFAULT_COBRA_SETTINGS: CobraSettings = {
  llmBackboneId: "mamba-2.8b-zephyr",
  maxPromptLength: 2048,
};

/** Turns what the caller calls an image into decoded RGB (file paths, URLs, bytes, Blobs: platform-specific). */
export type ImageDecoder<I> = (image: I) => Promise<RgbImage>;

export interface EncodedImage {
  /** Normalized float32 [1, 3, S, S] per encoder input, in the encoder's order (when the encoder tells). */
  pixels: { name: string; data: Float32Array }[];
  /** Each tower's features when the encoder is fused (empty for a single encoder: `features` is its output). */
  towers: { name: string; features: FloatTensor }[];
  features: FloatTensor;
  projected: FloatTensor;
}

export interface AskOptions extends GenerationSettings {
  signal?: AbortSignal;
}

export type GenerateRequest<I> = PromptRequest & AskOptions & { image: I };

export interface CobraResult extends GenerateResult {}

/**
 * Cobra: vision encoder -> projector -> language model. Holds one of each part; `look` encodes an image once
 * and keeps the LM state after it, so every question about that image costs only its own tokens.
 */
export class CobraEngine<I = RgbImage> {
  readonly parts: Readonly<CobraParts>;
  readonly settings: Readonly<CobraSettings>;

  constructor(
    parts: CobraParts,
    settings: Partial<CobraSettings>,
    private readonly decodeImage: ImageDecoder<I>,
    readonly manifest: CobraManifest | null = null,
  ) {
    for (const slot of ["encoder", "projector", "lm", "tokenizer"] as const)
      if (!parts?.[slot]) throw new InvalidArgumentError(`Cobra needs a ${slot} part`);
    this.parts = Object.freeze({ ...parts });
    this.settings = Object.freeze({ ...DEFAULT_COBRA_SETTINGS, ...settings });
  }

  /** Decodes, encodes (the encoder does its own preprocessing) and projects one image. */
  async encodeImage(image: I, signal?: AbortSignal): Promise<EncodedImage> {
    const rgb = await this.decodeImage(image);
    throwIfAborted(signal);
    const encoded = await this.parts.encoder.encode(rgb, { signal });
    throwIfAborted(signal);
    const projected = await this.parts.projector.project(encoded.features, { signal });
    return {
      pixels: encoded.pixels ?? [],
      towers: encoded.towers ?? [],
      features: encoded.features,
      projected,
    };
  }

  /** Encodes the image and runs it through the LM once; ask questions about it with the returned session. */
  async look(image: I, options: { signal?: AbortSignal } = {}): Promise<ImageSession> {
    const encoded = await this.encodeImage(image, options.signal);
    const { state } = await this.parts.lm.prefill({ prefixEmbeds: encoded.projected }, undefined, options);
    return new ImageSession(this as CobraEngine<never>, state, encoded);
  }

  /** Answers one request about one image (a fresh session each time). */
  async generate(request: GenerateRequest<I>): Promise<CobraResult> {
    return drain(this.stream(request));
  }

  /** Streams the answer as {token, text delta}; the iterator's return value is the whole result. */
  async *stream(request: GenerateRequest<I>): AsyncGenerator<StreamChunk, CobraResult, undefined> {
    const prompt = this.promptString(request);
    const encoded = await this.encodeImage(request.image, request.signal);
    return yield* streamGenerate(this.parts.lm, this.parts.tokenizer, prompt, {
      ...this.generationDefaults(),
      ...request,
      prefixEmbeds: encoded.projected,
    });
  }

  /** The prompt string this model tokenizes for a request. */
  promptString(request: PromptRequest): string {
    return promptString(
      request,
      this.parts.prompt ?? (() => createPromptBuilder(this.settings.llmBackboneId)),
    );
  }

  generationDefaults(): GenerationSettings {
    return { maxPromptLength: this.settings.maxPromptLength };
  }

  async release(): Promise<void> {
    await Promise.all([
      this.parts.encoder.release?.(),
      this.parts.projector.release?.(),
      this.parts.lm.release?.(),
    ]);
  }
}

/**
 * A chat about one image. The state after the image is kept; each turn continues from the state after the
 * previous answer when the new prompt extends what that state has seen (token for token), else it restarts
 * from the image state: the answers are exactly those of re-running the whole prompt, at a fraction of the cost.
 */
export class ImageSession {
  readonly history: { role: "user" | "assistant"; text: string }[] = [];
  /** Prompt ids consumed by `state` after the image, and that state. */
  private seenIds: number[] = [];
  private state: LanguageModelState;

  constructor(
    private readonly cobra: CobraEngine<never>,
    private readonly imageState: LanguageModelState,
    readonly image: EncodedImage,
  ) {
    this.state = imageState;
  }

  async ask(question: string, options: AskOptions = {}): Promise<CobraResult> {
    return drain(this.askStream(question, options));
  }

  /** Forgets the conversation; the image stays encoded. */
  reset(): void {
    this.history.length = 0;
    this.seenIds = [];
    this.state = this.imageState;
  }

  /**
   * Drops the oldest question/answer pairs until the prompt for `question` fits in maxPromptLength (a chat
   * grows past Cobra's llm_max_length otherwise; the next answer then starts again from the image state).
   * Returns how many pairs were dropped; throws PromptTooLongError when the question alone does not fit.
   */
  dropOldestTurnsToFit(question: string, options: Pick<AskOptions, "maxPromptLength"> = {}): number {
    const limit = options.maxPromptLength ?? this.cobra.generationDefaults().maxPromptLength;
    if (limit === undefined) return 0;
    let dropped = 0;
    let length = this.promptIds(question).length;
    while (length > limit && 2 * dropped < this.history.length) {
      dropped++;
      length = this.promptIds(question, this.history.slice(2 * dropped)).length;
    }
    // The history is left as it was when even the question alone does not fit.
    if (length > limit)
      throw new PromptTooLongError(
        length,
        limit,
        `the question makes a prompt of ${length} tokens, over the model's limit of ${limit}: ask a shorter one`,
      );
    this.history.splice(0, 2 * dropped);
    return dropped;
  }

  async *askStream(
    question: string,
    options: AskOptions = {},
  ): AsyncGenerator<StreamChunk, CobraResult, undefined> {
    const { lm, tokenizer } = this.cobra.parts;
    const settings = { ...this.cobra.generationDefaults(), ...options };
    // The length policy applies to the whole prompt, however much of it the kept state has already seen.
    const promptIds = limitPromptIds(this.promptIds(question), settings);
    const reuse = startsWith(promptIds, this.seenIds);
    const from = reuse ? this.state : this.imageState;
    const fed = reuse ? promptIds.slice(this.seenIds.length) : promptIds;
    const result = yield* streamGenerate(lm, tokenizer, fed, {
      ...settings,
      maxPromptLength: undefined,
      state: from,
    });
    this.history.push({ role: "user", text: question }, { role: "assistant", text: result.text });
    // The state has consumed the prompt and every generated id but the last.
    this.seenIds = [...promptIds, ...result.ids.slice(0, -1)];
    this.state = result.state;
    return { ...result, promptIds };
  }

  /**
   * Answers each question on its own about this image (no chat history: each starts from the image state), the
   * answers decoded together as one batch: what an evaluation asks of one image. The chat is left as it was.
   * Each result is exactly `ask` after `reset`.
   */
  async askEach(questions: readonly string[], options: AskOptions = {}): Promise<CobraResult[]> {
    const { lm, tokenizer } = this.cobra.parts;
    const settings = { ...this.cobra.generationDefaults(), ...options };
    const prompts = questions.map((q) => limitPromptIds(this.promptIds(q, []), settings));
    const results = await generateBatch(lm, tokenizer, prompts, {
      ...settings,
      maxPromptLength: undefined,
      state: this.imageState,
    });
    return results.map((r, i) => ({ ...r, promptIds: prompts[i] }));
  }

  /** The ids of the whole chat prompt: the history, then `question`. */
  private promptIds(question: string, history = this.history): number[] {
    const messages = [
      ...history.map((h) => ({ role: h.role, content: h.text })),
      { role: "user" as const, content: question },
    ];
    return this.cobra.parts.tokenizer.encode(this.cobra.promptString({ messages }));
  }
}

function startsWith(ids: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length === 0 || prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

async function drain<T, R>(it: AsyncGenerator<T, R, undefined>): Promise<R> {
  for (;;) {
    const next = await it.next();
    if (next.done) return next.value;
  }
}
