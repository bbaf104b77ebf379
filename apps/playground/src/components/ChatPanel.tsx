import { type FormEvent, type KeyboardEvent, useState } from "react";
import type { ChatControls } from "../hooks/useChat";
import { MAX_NEW_TOKENS, MIN_NEW_TOKENS, parseMaxNewTokens } from "../lib/max-new-tokens";
import { ChatLog } from "./ChatLog";

const DEFAULT_MAX_NEW_TOKENS = "256";

interface Props {
  chat: ChatControls;
  /** Why questions cannot be asked yet, or null when they can. */
  blocked: string | null;
}

/** The conversation about the current image: the log scrolls, the question and Stop stay put below it. */
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
      <ChatLog
        exchanges={chat.exchanges}
        cleared={chat.cleared}
        emptyHint={blocked ?? "Ask something about the image."}
      />
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
