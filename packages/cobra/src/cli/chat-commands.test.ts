import { describe, expect, it } from "vitest";
import { parseChatLine } from "./chat-commands.js";

describe("parseChatLine", () => {
  it("reads the commands", () => {
    expect(parseChatLine("/help")).toEqual({ kind: "help" });
    expect(parseChatLine("  /reset ")).toEqual({ kind: "reset" });
    expect(parseChatLine("/quit")).toEqual({ kind: "quit" });
    expect(parseChatLine("/image photos/cat 1.png")).toEqual({ kind: "image", file: "photos/cat 1.png" });
    expect(parseChatLine(`/image "my cat.png"`)).toEqual({ kind: "image", file: "my cat.png" });
  });

  it("passes questions on as typed and skips blank lines", () => {
    expect(parseChatLine(" What is this? ")).toEqual({ kind: "ask", question: " What is this? " });
    expect(parseChatLine(" \t")).toEqual({ kind: "empty" });
  });

  it("says what is wrong with a command instead of asking the model", () => {
    expect(parseChatLine("/imagine")).toEqual({
      kind: "invalid",
      message: "unknown command /imagine (/help lists the commands)",
    });
    expect(parseChatLine("/image")).toEqual({
      kind: "invalid",
      message: "/image needs a file: /image <file>",
    });
    expect(parseChatLine("/quit now")).toEqual({ kind: "invalid", message: "/quit takes no argument" });
  });
});
