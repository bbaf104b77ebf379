/**
 * Keeps a scrolling element at its bottom as content is added (a streaming answer), unless the user has
 * scrolled up to read: then it stays where they put it until they scroll back down or ask something new.
 */
import { type RefObject, useCallback, useLayoutEffect, useRef } from "react";

/** Pixels from the bottom that still count as "at the bottom" (fractional scroll positions, a last line). */
const SLACK_PX = 24;

/** `content`: changes whenever the content does; `turn`: changes when the user adds to it (back to the bottom). */
export function useStickToBottom<T extends HTMLElement>(
  content: unknown,
  turn: unknown,
): { ref: RefObject<T | null>; onScroll(): void } {
  const ref = useRef<T>(null);
  const pinned = useRef(true);
  const lastTurn = useRef(turn);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el) pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK_PX;
  }, []);

  // Before paint, so the newest text never shows a frame below the fold.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs because `content` changed; it is not read
  useLayoutEffect(() => {
    if (lastTurn.current !== turn) pinned.current = true;
    lastTurn.current = turn;
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [content, turn]);

  return { ref, onScroll };
}
