import type { AnswerStats } from "@cobra-ts/cobra/worker";
import type { ChatCleared, Exchange } from "../hooks/useChat";
import { useStickToBottom } from "../hooks/useStickToBottom";
import { formatMs } from "../lib/format";

interface Props {
  exchanges: Exchange[];
  cleared: ChatCleared | null;
  /** Shown while there is nothing else: why questions cannot be asked yet, or an invitation. */
  emptyHint: string;
}

/** The questions and answers, in a box of its own that scrolls and follows a streaming answer. */
export function ChatLog({ exchanges, cleared, emptyHint }: Props) {
  const { ref, onScroll } = useStickToBottom<HTMLOListElement>(exchanges, exchanges.length);
  return (
    <ol className="exchanges" data-testid="chat-log" ref={ref} onScroll={onScroll}>
      {cleared && (
        <li className="cleared" data-testid="chat-cleared" role="status">
          {clearedMessage(cleared)}
        </li>
      )}
      {exchanges.length === 0 && <li className="hint">{emptyHint}</li>}
      {exchanges.map((exchange) => (
        <ExchangeView key={exchange.id} exchange={exchange} />
      ))}
    </ol>
  );
}

function clearedMessage({ reason, turns }: ChatCleared): string {
  const what = turns === 1 ? "the earlier turn was" : `the ${turns} earlier turns were`;
  return reason === "image"
    ? `New image: ${what} cleared; each image starts a new conversation.`
    : `New model: ${what} cleared.`;
}

function ExchangeView({ exchange }: { exchange: Exchange }) {
  const { question, answer, state, stats, error, notice } = exchange;
  return (
    <li className="exchange">
      {notice && (
        <p className="hint" data-testid="dropped-turns">
          {notice}
        </p>
      )}
      <p className="user">{question}</p>
      <p className="assistant" data-testid="answer" data-state={state}>
        <span data-testid="answer-text">{answer.trim()}</span>
        {state === "waiting" && <span className="hint">thinking…</span>}
        {state === "streaming" && <span className="cursor" aria-hidden="true" />}
      </p>
      {state === "stopped" && <p className="hint">stopped</p>}
      {state === "failed" && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {stats && <StatsLine stats={stats} />}
    </li>
  );
}

function StatsLine({ stats }: { stats: AnswerStats }) {
  const parts = [
    `time to first token ${stats.ttftMs === null ? "–" : formatMs(stats.ttftMs)}`,
    `${stats.tokens} tokens`,
    stats.tokensPerSecond === null ? null : `${stats.tokensPerSecond.toFixed(1)} tokens/s`,
  ].filter(Boolean);
  return (
    <p className="stats" data-testid="answer-stats">
      {parts.join(" · ")}
    </p>
  );
}
