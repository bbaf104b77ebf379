import { InvalidArgumentError } from "@cobra-ts/core";
import { pythonRstrip, pythonStrip } from "@cobra-ts/mamba-lm";
import { describe, expect, it } from "vitest";
import { CASES } from "../../test/fixture.js";
import { createPromptBuilder } from "./for-backbone.js";
import { MambaPromptBuilder, PurePromptBuilder } from "./in-out.js";
import { buildPrompt } from "./prompt-builder.js";
import { ZephyrChatPromptBuilder } from "./zephyr-chat.js";

const cases = CASES;

describe("ZephyrChatPromptBuilder", () => {
  it.each(cases.map((c) => [c.id, c] as const))("%s: turns -> prompt_string", (_, c) => {
    expect(buildPrompt(new ZephyrChatPromptBuilder(), c.turns)).toBe(c.prompt_string);
  });

  it("wraps turns like Cobra and keeps the trailing newline", () => {
    const builder = new ZephyrChatPromptBuilder();
    expect(builder.addTurn("human", "<image>\n  What is it?  ")).toBe(
      "<|user|>\nWhat is it?<|endoftext|>\n<|assistant|>\n",
    );
    expect(builder.addTurn("gpt", " A cat. ")).toBe("A cat.<|endoftext|>");
    expect(builder.addTurn("human", "Color?")).toBe("\n<|user|>\nColor?<|endoftext|>\n<|assistant|>\n");
    expect(builder.getPrompt()).toBe(
      "<|user|>\nWhat is it?<|endoftext|>\n<|assistant|>\nA cat.<|endoftext|>\n<|user|>\nColor?<|endoftext|>\n<|assistant|>\n",
    );
  });

  it("turns an empty assistant message into one space", () => {
    const builder = new ZephyrChatPromptBuilder();
    builder.addTurn("human", "hi");
    expect(builder.addTurn("gpt", "   ")).toBe(" <|endoftext|>");
  });

  it("reproduces get_potential_prompt (raw message, no newline before a later user turn)", () => {
    const builder = new ZephyrChatPromptBuilder();
    expect(builder.getPotentialPrompt(" hi ")).toBe("<|user|>\n hi <|endoftext|>\n<|assistant|>\n");
    builder.addTurn("human", "a");
    builder.addTurn("gpt", "b");
    expect(builder.getPotentialPrompt("c")).toBe(
      "<|user|>\na<|endoftext|>\n<|assistant|>\nb<|endoftext|><|user|>\nc<|endoftext|>\n<|assistant|>\n",
    );
  });

  it("requires alternating human/gpt turns", () => {
    expect(() => new ZephyrChatPromptBuilder().addTurn("gpt", "x")).toThrow(InvalidArgumentError);
    const builder = new ZephyrChatPromptBuilder();
    builder.addTurn("human", "x");
    expect(() => builder.addTurn("human", "y")).toThrow(/role must be "gpt"/);
  });
});

describe("In/Out prompt builders", () => {
  const turns = [
    { role: "human", message: "<image>What?" },
    { role: "gpt", message: "A cat." },
    { role: "human", message: "Sure? " },
  ] as const;

  it("MambaPromptBuilder separates turns with a newline and keeps the trailing space", () => {
    expect(buildPrompt(new MambaPromptBuilder(), turns)).toBe(
      "In: What?\nOut: A cat.<|endoftext|>\nIn: Sure?\nOut: ",
    );
  });

  it("PurePromptBuilder concatenates turns and rstrips the prompt", () => {
    expect(buildPrompt(new PurePromptBuilder(), turns)).toBe("In: What?\nOut: A cat.</s>In: Sure?\nOut:");
    expect(new PurePromptBuilder().getPotentialPrompt("<s>x")).toBe("In: <s>x\nOut:");
  });

  it("createPromptBuilder picks the builder Cobra picks", () => {
    expect(createPromptBuilder("mamba-2.8b-zephyr")).toBeInstanceOf(ZephyrChatPromptBuilder);
    expect(createPromptBuilder("mamba-2.8b")).toBeInstanceOf(MambaPromptBuilder);
    expect(() => createPromptBuilder("llama2-7b")).toThrow(InvalidArgumentError);
  });
});

describe("pythonStrip", () => {
  it("strips what Python's str.strip() strips", () => {
    expect(pythonStrip("\x1c a\uFEFF\x85 ")).toBe("a\uFEFF");
    expect(pythonStrip("\uFEFFa")).toBe("\uFEFFa");
    expect(pythonStrip(" \t\n\u3000x y\u00a0")).toBe("x y");
    expect(pythonRstrip("  x \n")).toBe("  x");
  });
});
