import { CLEAN_UP_LOOKBEHIND, cleanUpTokenizationSpaces, stableCleanUpCut } from "./clean-up.js";

export interface StreamDecoderOptions {
  /** Apply transformers' clean-up to the streamed text (see TokenStreamDecoder). */
  cleanUpTokenizationSpaces: boolean;
}

/**
 * Incremental detokenizer: `push(id)` returns the text that became final with that id.
 *
 * - UTF-8: bytes of a character split over several tokens are held back until the character is complete
 *   (TextDecoder's streaming mode); a sequence that turns out invalid becomes U+FFFD exactly as in a one-shot
 *   decode, and `finish()` flushes an incomplete tail as U+FFFD.
 * - Clean-up: the emitted text is the clean-up of the whole prefix, emitted only up to the last cut that no
 *   later text can change (a space within the last 3 characters may still be removed by " ." or " n't" etc.).
 *
 * So `push(id1) + push(id2) + ... + finish()` equals `tokenizer.decode(ids, sameOptions)` exactly. Cobra's final
 * `.strip()` is not applied here: generation's GeneratedSequence applies it to what it streams.
 */
export class TokenStreamDecoder {
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  /** Tail of the raw (not cleaned) text: what is not emitted yet plus a little context; clean-up only. */
  private raw = "";
  /** Position in `raw` up to which its clean-up has been emitted (always a stable cut). */
  private emittedRaw = 0;
  private finished = false;
  private emitted = "";

  constructor(
    private readonly bytesOf: (id: number) => Uint8Array | null,
    private readonly options: StreamDecoderOptions,
  ) {}

  /** All text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Adds one id; returns the new final text (possibly ""). */
  push(id: number): string {
    if (this.finished) throw new Error("TokenStreamDecoder: push() after finish()");
    const bytes = this.bytesOf(id);
    if (bytes === null) return "";
    return this.emit(this.utf8.decode(bytes, { stream: true }), false);
  }

  /** Ends the stream and returns the held-back text. */
  finish(): string {
    if (this.finished) return "";
    this.finished = true;
    return this.emit(this.utf8.decode(), true);
  }

  private emit(rawDelta: string, final: boolean): string {
    let delta = rawDelta;
    if (this.options.cleanUpTokenizationSpaces) {
      this.raw += rawDelta;
      const cut = final ? this.raw.length : stableCleanUpCut(this.raw, this.emittedRaw);
      delta = cleanUpTokenizationSpaces(this.raw.slice(this.emittedRaw, cut));
      // Keep only the characters before the cut that the next stability check looks at.
      const keepFrom = Math.max(0, cut - CLEAN_UP_LOOKBEHIND);
      this.raw = this.raw.slice(keepFrom);
      this.emittedRaw = cut - keepFrom;
    }
    this.emitted += delta;
    return delta;
  }
}
