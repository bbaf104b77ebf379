/** Time to first token and decode speed of one streamed answer. */
import type { AnswerStats } from "./protocol.js";

export class AnswerTimer {
  readonly #start: number;
  #first: number | null = null;
  #last: number | null = null;
  #tokens = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.#start = now();
  }

  token(): void {
    const t = this.now();
    this.#first ??= t;
    this.#last = t;
    this.#tokens++;
  }

  stats(): AnswerStats {
    const first = this.#first;
    const last = this.#last;
    // The first token includes the question's prefill; the rate measures decoding only.
    const decodeMs = first !== null && last !== null ? last - first : 0;
    return {
      tokens: this.#tokens,
      ttftMs: first === null ? null : first - this.#start,
      tokensPerSecond: this.#tokens > 1 && decodeMs > 0 ? ((this.#tokens - 1) * 1000) / decodeMs : null,
      totalMs: this.now() - this.#start,
    };
  }
}
