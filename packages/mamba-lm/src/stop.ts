import { InvalidArgumentError } from "@cobra-ts/core";

export interface StopOptions {
  /** Generated ids that end generation (kept in the ids, skipped by decode). Cobra: 0. null = none. */
  eosTokenId?: number | readonly number[] | null;
  /** Strings that end generation when they appear in the decoded text; the match is cut from the output. */
  stopStrings?: readonly string[];
  /** Most tokens to generate; an integer >= 0. */
  maxNewTokens: number;
}

export type StopReason = "eos" | "stop_string" | "max_new_tokens";

export interface StopCheck {
  /** Why generation ends after this token, or null to go on. */
  reason: StopReason | null;
  /** The output text: the decoded text, cut before the first stop string. */
  text: string;
  /**
   * How much of `text` is final: all of it once stopped; otherwise a tail that could still grow into a stop
   * string is held back, so a streaming caller never shows text that a stop string later removes.
   */
  stableLength: number;
}

/**
 * Stop conditions of a generation loop. Cobra (mamba_ssm `decode`) stops right after an eos id or after
 * max_new_tokens tokens; stop strings are ours. Call `check` after every generated token.
 *
 * Difference from the official loop, on purpose: with max_new_tokens = 0 it still generates one token (its
 * check only runs after the first step); here `canGenerate(0)` is false, so nothing is generated.
 */
export class StopCriteria {
  private readonly eosIds: ReadonlySet<number>;
  private readonly stopStrings: readonly string[];
  readonly maxNewTokens: number;

  constructor(options: StopOptions) {
    this.maxNewTokens = options.maxNewTokens;
    if (!Number.isSafeInteger(this.maxNewTokens) || this.maxNewTokens < 0) {
      throw new InvalidArgumentError(
        `maxNewTokens must be an integer >= 0, got ${String(options.maxNewTokens)}`,
      );
    }
    const eos = options.eosTokenId ?? [];
    const eosIds = typeof eos === "number" ? [eos] : eos;
    for (const id of eosIds) {
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new InvalidArgumentError(`eosTokenId must be a non-negative integer, got ${String(id)}`);
      }
    }
    this.eosIds = new Set(eosIds);
    this.stopStrings = options.stopStrings ?? [];
    for (const stop of this.stopStrings) {
      if (typeof stop !== "string" || stop === "") {
        throw new InvalidArgumentError(`stopStrings must be non-empty strings, got ${JSON.stringify(stop)}`);
      }
    }
  }

  /** Whether another token may be generated after `generatedCount` tokens (before any check stopped it). */
  canGenerate(generatedCount: number): boolean {
    return generatedCount < this.maxNewTokens;
  }

  /**
   * @param tokenId the token just generated
   * @param generatedCount tokens generated so far, this one included
   * @param text the decoded text of all generated tokens so far (as it will be returned, e.g. cleaned up)
   */
  check(tokenId: number, generatedCount: number, text: string): StopCheck {
    if (this.eosIds.has(tokenId)) return { reason: "eos", text, stableLength: text.length };
    const match = findStopString(text, this.stopStrings);
    if (match) {
      const cut = text.slice(0, match.index);
      return { reason: "stop_string", text: cut, stableLength: cut.length };
    }
    if (!this.canGenerate(generatedCount))
      return { reason: "max_new_tokens", text, stableLength: text.length };
    return { reason: null, text, stableLength: text.length - stopStringPrefixLength(text, this.stopStrings) };
  }
}

/** The earliest occurrence of any stop string (the longest one on a tie), or null. */
export function findStopString(
  text: string,
  stopStrings: readonly string[],
): { index: number; stopString: string } | null {
  let best: { index: number; stopString: string } | null = null;
  for (const stopString of stopStrings) {
    const index = text.indexOf(stopString);
    if (index < 0) continue;
    if (!best || index < best.index || (index === best.index && stopString.length > best.stopString.length)) {
      best = { index, stopString };
    }
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string (it may still complete). */
export function stopStringPrefixLength(text: string, stopStrings: readonly string[]): number {
  let longest = 0;
  for (const stop of stopStrings) {
    for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}
