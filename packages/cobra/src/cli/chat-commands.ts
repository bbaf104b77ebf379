/** What one line of chat input asks for: a question to the model, or one of the slash commands. */
export type ChatLine =
  | { kind: "ask"; question: string }
  | { kind: "help" }
  | { kind: "reset" }
  | { kind: "image"; file: string }
  | { kind: "quit" }
  | { kind: "empty" }
  /** A slash command that does not exist or is used wrongly; `message` says so. */
  | { kind: "invalid"; message: string };

export const CHAT_HELP = `commands:
  /help          this list
  /reset         forget the conversation (the image stays)
  /image <file>  talk about another image (file or http(s) URL; starts a new conversation)
  /quit          end the chat (so do Ctrl-D and Ctrl-C at the prompt)
anything else is a question about the image; Ctrl-C while an answer is written stops that answer
`;

export function parseChatLine(line: string): ChatLine {
  const text = line.trim();
  if (text === "") return { kind: "empty" };
  if (!text.startsWith("/")) return { kind: "ask", question: line };
  const [command] = text.split(/\s/, 1);
  const rest = text.slice(command.length).trim();
  const noArgument = (kind: "help" | "reset" | "quit"): ChatLine =>
    rest === "" ? { kind } : { kind: "invalid", message: `${command} takes no argument` };
  switch (command) {
    case "/help":
      return noArgument("help");
    case "/reset":
      return noArgument("reset");
    case "/quit":
      return noArgument("quit");
    case "/image": {
      // A path with spaces may be quoted, as it would be in a shell.
      const file = rest.replace(/^(["'])(.*)\1$/, "$2");
      return file === ""
        ? { kind: "invalid", message: "/image needs a file: /image <file>" }
        : { kind: "image", file };
    }
    default:
      return { kind: "invalid", message: `unknown command ${command} (/help lists the commands)` };
  }
}
