import { type FormEvent, type KeyboardEvent, useState } from "react";
import type { ChatCleared, ChatControls, Exchange } from "../hooks/useChat";
import { formatMs } from "../lib/format";
import { MAX_NEW_TOKENS, MIN_NEW_TOKENS, parseMaxNewTokens } from "../lib/max-new-tokens";
import type { AnswerStats } from "../worker/protocol";

const DEFAULT_MAX_NEW_TOKENS = "256";

interface Props {
  chat: ChatControls;
  /** Why questions cannot be asked yet, or null when they can. */
  blocked: string | null;
}

/** The conversation about the current image: questions, streamed answers, speed, and a stop button. */
export function ChatPanel({ chat, blocked }: Props) {
  const [question, setQuestion] = useState("");
  const [maxNewTokens, setMaxNewTokens] = useState(DEFAULT_MAX_NEW_TOKENS);
  const tokens = parseMaxNewTokens(maxNewTokens);
  const canAsk = blocked === null && !chat.busy && question.trim() !== "" && tokens.ok;

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (!canAsk || !tokens.ok) return;
    chat.ask(question.trim(), tokens.value);
    setQuestion("");
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  };

  return (
    <section className="panel chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      <ol className="exchanges" data-testid="chat-log">
        {chat.cleared && (
          <li className="cleared" data-testid="chat-cleared" role="status">
            {clearedMessage(chat.cleared)}
          </li>
        )}
        {chat.exchanges.length === 0 && (
          <li className="hint">{blocked ?? "Ask something about the image."}</li>
        )}
        {chat.exchanges.map((exchange) => (
          <ExchangeView key={exchange.id} exchange={exchange} />
        ))}
      </ol>
      {chat.contextTurns > 0 && (
        <p className="hint" data-testid="context-turns">
          {chat.contextTurns} turns in the model's context; the image prefix was encoded once.
        </p>
      )}
      <form className="ask" onSubmit={send}>
        <textarea
          data-testid="question"
          aria-label="Question"
          rows={2}
          value={question}
          placeholder={blocked ?? "Ask about the image (Enter sends, Shift+Enter for a new line)"}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="row">
          <label>
            Max new tokens{" "}
            <input
              data-testid="max-new-tokens"
              type="number"
              min={MIN_NEW_TOKENS}
              max={MAX_NEW_TOKENS}
              step={1}
              value={maxNewTokens}
              aria-invalid={!tokens.ok}
              aria-describedby={tokens.ok ? undefined : "max-new-tokens-error"}
              onChange={(e) => setMaxNewTokens(e.target.value)}
            />
          </label>
          <button type="submit" data-testid="ask" disabled={!canAsk}>
            Ask
          </button>
          <button type="button" data-testid="stop" disabled={!chat.busy} onClick={chat.stop}>
            Stop
          </button>
        </div>
        {!tokens.ok && (
          <p className="error field-error" id="max-new-tokens-error" data-testid="max-new-tokens-error">
            {tokens.message}
          </p>
        )}
      </form>
    </section>
  );
}

function clearedMessage({ reason, turns }: ChatCleared): string {
  const what = turns === 1 ? "the earlier turn was" : `the ${turns} earlier turns were`;
  return reason === "image"
    ? `New image: ${what} cleared; each image starts a new conversation.`
    : `New model: ${what} cleared.`;
}

function ExchangeView({ exchange }: { exchange: Exchange }) {
  const { question, answer, state, stats, error } = exchange;
  return (
    <li className="exchange">
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
