import type { Tokenizer, TokenStream } from "@cobra-ts/core";

/**
 * A TokenStream for a tokenizer that has none of its own: decodes every id so far on each push and emits what
 * grew, holding back a trailing U+FFFD (half a UTF-8 character that the next id may complete). Quadratic in the
 * answer's length, which is fine for answers of hundreds of tokens; a tokenizer that streams does better.
 */
export class DecodeStream implements TokenStream {
  private readonly ids: number[] = [];
  private emitted = "";
  private decoded = "";

  constructor(
    private readonly tokenizer: Pick<Tokenizer, "decode">,
    private readonly skipSpecialTokens: boolean,
  ) {}

  get text(): string {
    return this.decoded;
  }

  push(id: number): string {
    this.ids.push(id);
    this.decoded = this.tokenizer.decode(this.ids, { skipSpecialTokens: this.skipSpecialTokens });
    let stable = this.decoded.length;
    while (stable > 0 && this.decoded[stable - 1] === "\uFFFD") stable--;
    return this.emit(stable);
  }

  finish(): string {
    return this.emit(this.decoded.length);
  }

  private emit(end: number): string {
    // A later decode may rewrite the text before `end` (rare: a merge across ids); emit only what extends it.
    if (!this.decoded.startsWith(this.emitted) || end <= this.emitted.length) return "";
    const delta = this.decoded.slice(this.emitted.length, end);
    this.emitted += delta;
    return delta;
  }
}
