import { InvalidArgumentError, type Tokenizer, type TokenStream } from "@cobra-ts/core";
import { pythonStrip } from "../prompt/python-strip.js";
import { resolveSamplingOptions, type SamplingOptions } from "../sampling/options.js";
import type { Rng } from "../sampling/rng.js";
import { sampleNextToken } from "../sampling/sample.js";
import { StopCriteria, type StopReason } from "../stop.js";
import { DecodeStream } from "../tokenizer/decode-stream.js";
import { limitPromptIds, type PromptLengthOptions } from "./prompt-ids.js";

/** What generation needs of a tokenizer: the Tokenizer contract (encode is used for text prompts). */
export type GenerationTokenizer = Tokenizer;

export interface SequenceOptions extends SamplingOptions, PromptLengthOptions {
  /** Most tokens to generate (default 256). */
  maxNewTokens?: number;
  /** Ids that end generation (kept in `ids`). Default: the tokenizer's eos (`<|endoftext|>` = 0); null = none. */
  eosTokenId?: number | readonly number[] | null;
  /** Strings that end generation; the output is cut before the first one. */
  stopStrings?: readonly string[];
  /** transformers' clean_up_tokenization_spaces; default: the tokenizer's setting. */
  cleanUpTokenizationSpaces?: boolean;
}

/** Checks every generation option up front (before the model runs) and builds the stop criteria. */
export function checkSequenceOptions(tokenizer: GenerationTokenizer, options: SequenceOptions): StopCriteria {
  resolveSamplingOptions(options);
  return new StopCriteria({
    maxNewTokens: options.maxNewTokens ?? 256,
    eosTokenId: options.eosTokenId === undefined ? tokenizer.eosTokenId : options.eosTokenId,
    stopStrings: options.stopStrings,
  });
}

/** The prompt's ids after the length policy (text is encoded without BOS, as Cobra does). */
export function promptIdsOf(
  tokenizer: GenerationTokenizer,
  prompt: string | readonly number[],
  options: PromptLengthOptions,
): number[] {
  if (typeof prompt !== "string" && !Array.isArray(prompt))
    throw new InvalidArgumentError("prompt must be a string or an array of token ids");
  return limitPromptIds(typeof prompt === "string" ? tokenizer.encode(prompt) : prompt, options);
}

/** One sequence being generated: its sampled ids, the text streamed so far, and whether it has stopped. */
export class GeneratedSequence {
  readonly ids: number[] = [];
  stopReason: StopReason | null;
  private readonly seen: number[];
  private readonly decoder: TokenStream;
  /** Length of the stripped text streamed so far. */
  private emitted = 0;
  private text = "";

  constructor(
    readonly promptIds: number[],
    tokenizer: GenerationTokenizer,
    private readonly stop: StopCriteria,
    private readonly options: SequenceOptions,
  ) {
    this.seen = [...promptIds];
    this.decoder =
      tokenizer.createStreamDecoder?.({
        skipSpecialTokens: true,
        cleanUpTokenizationSpaces: options.cleanUpTokenizationSpaces,
      }) ?? new DecodeStream(tokenizer, true);
    this.stopReason = stop.canGenerate(0) ? null : "max_new_tokens";
  }

  get done(): boolean {
    return this.stopReason !== null;
  }

  /** Samples the next id from this sequence's logits, records it, and returns it with its final text delta. */
  next(logits: Float32Array, rng: Rng): { token: number; text: string } {
    // The repetition penalty sees prompt + generated ids, as mamba_ssm passes the whole sequence.
    const id = sampleNextToken(logits, this.options, rng, this.seen);
    this.ids.push(id);
    this.seen.push(id);
    this.decoder.push(id);
    let check = this.stop.check(id, this.ids.length, this.decoder.text);
    if (check.reason) {
      // Last token: flush what the decoder held back (a partial character, a clean-up lookahead), check again.
      this.decoder.finish();
      check = this.stop.check(id, this.ids.length, this.decoder.text);
    }
    this.text = check.text;
    this.stopReason = check.reason;
    // One rule for the stream and the result: emit the strip of the stable text. Leading whitespace (the
    // first BPE token's space) is never shown; trailing whitespace waits until more text follows it, since
    // the final strip would remove it. Each such strip extends the previous one, so the deltas add up to
    // exactly `finalText`.
    const shown = pythonStrip(check.text.slice(0, check.stableLength));
    const delta = shown.slice(this.emitted);
    this.emitted = Math.max(this.emitted, shown.length);
    return { token: id, text: delta };
  }

  /** Cobra's output: decoded, cleaned up, cut at a stop string, then Python-stripped. */
  get finalText(): string {
    return pythonStrip(this.text);
  }
}
