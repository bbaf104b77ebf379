import type { LanguageModelState } from "@cobra-ts/core";
import { LRUCache } from "lru-cache";

/** What the cache holds: the LM state after an image and the prompt ids `ids` that followed it. */
export interface CachedState<S extends LanguageModelState = LanguageModelState> {
  ids: readonly number[];
  state: S;
}

/**
 * An LRU of LM states after an image (and after earlier turns of a chat about it), keyed by the image's bytes
 * (a hash; "" for a text-only chat) and the prompt ids the state has consumed after the image. A Mamba state
 * has a fixed size whatever it has seen, so the budget holds a known number of states; `lru-cache` does the
 * bookkeeping (size-bounded by each entry's byte size). A follow-up question about the same image finds the
 * longest cached prefix of its prompt and skips the vision pass and everything that prefix covers.
 */
export class StateCache<S extends LanguageModelState = LanguageModelState> {
  private readonly lru: LRUCache<string, CachedState<S>> | null;
  /** The cache keys per image, to search the prefixes of one image's chats. */
  private readonly byImage = new Map<string, Set<string>>();

  constructor(
    maxBytes: number,
    /** Bytes of one batch-1 state of this model (all such states have the same size). */
    private readonly stateBytes: number,
  ) {
    this.lru =
      maxBytes >= stateBytes
        ? new LRUCache<string, CachedState<S>>({
            maxSize: maxBytes,
            sizeCalculation: () => this.stateBytes,
            dispose: (_value, key) => this.forget(key),
          })
        : null;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get entries(): number {
    return this.lru?.size ?? 0;
  }

  /** Keeps `state` (batch 1) as the state after `image` and `ids`; a no-op when the budget holds no state. */
  set(image: string, ids: readonly number[], state: S): void {
    if (!this.lru || state.batch !== 1) return;
    const key = cacheKey(image, ids);
    this.lru.set(key, { ids: [...ids], state });
    if (!this.lru.has(key)) return;
    let keys = this.byImage.get(image);
    if (!keys) this.byImage.set(image, (keys = new Set()));
    keys.add(key);
  }

  /**
   * The entry for `image` whose ids are the longest prefix of `promptIds` that leaves at least one id to run
   * (the next token's logits come from running it), or null. The entry found becomes the most recently used.
   */
  lookup(image: string, promptIds: readonly number[]): CachedState<S> | null {
    if (!this.lru) return null;
    let best: string | null = null;
    let bestLength = -1;
    for (const key of this.byImage.get(image) ?? []) {
      const entry = this.lru.peek(key);
      if (!entry || entry.ids.length >= promptIds.length || entry.ids.length <= bestLength) continue;
      if (isPrefix(entry.ids, promptIds)) {
        best = key;
        bestLength = entry.ids.length;
      }
    }
    return best === null ? null : (this.lru.get(best) ?? null);
  }

  private forget(key: string): void {
    const image = key.slice(0, key.indexOf("\u0000"));
    const keys = this.byImage.get(image);
    keys?.delete(key);
    if (keys?.size === 0) this.byImage.delete(image);
  }
}

function cacheKey(image: string, ids: readonly number[]): string {
  return `${image}\u0000${ids.join(",")}`;
}

function isPrefix(prefix: readonly number[], ids: readonly number[]): boolean {
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== ids[i]) return false;
  return true;
}
