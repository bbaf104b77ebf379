import type { LanguageModelState } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { StateCache } from "./state-cache.js";

const state = (name: string, batch = 1) =>
  ({ batch, name, toBytes: async () => new Uint8Array(0) }) as LanguageModelState & { name: string };

describe("StateCache", () => {
  it("finds the longest cached prefix of a prompt for the same image, leaving at least one id to run", () => {
    const cache = new StateCache(10 * 100, 100);
    cache.set("img", [], state("image"));
    cache.set("img", [1, 2, 3], state("turn1"));
    cache.set("img", [1, 2, 3, 4, 5], state("turn2"));
    cache.set("other", [1, 2, 3, 4], state("other image"));
    const name = (s: ReturnType<typeof cache.lookup>) => (s?.state as { name?: string })?.name;
    expect(name(cache.lookup("img", [1, 2, 3, 4, 5, 6]))).toBe("turn2");
    expect(name(cache.lookup("img", [1, 2, 3, 4, 5]))).toBe("turn1"); // one id must remain to run
    expect(name(cache.lookup("img", [1, 2, 9, 9]))).toBe("image");
    expect(cache.lookup("img", [1, 2, 9, 9])?.ids).toEqual([]);
    expect(name(cache.lookup("other", [1, 2, 3, 4, 5]))).toBe("other image");
    expect(cache.lookup("none", [1, 2])).toBeNull();
  });

  it("holds at most maxBytes of states, evicting the least recently used", () => {
    const cache = new StateCache(3 * 100, 100);
    for (const i of [1, 2, 3]) cache.set(`img${i}`, [], state(`s${i}`));
    expect(cache.bytes).toBe(300);
    cache.lookup("img1", [7]); // img1 is now the most recently used
    cache.set("img4", [], state("s4"));
    expect(cache.entries).toBe(3);
    expect(cache.bytes).toBe(300);
    expect(cache.lookup("img2", [7])).toBeNull();
    expect(cache.lookup("img1", [7])).not.toBeNull();
    expect(cache.lookup("img4", [7])).not.toBeNull();
  });

  it("a budget below one state keeps nothing; batched states are not kept", () => {
    const none = new StateCache(99, 100);
    none.set("img", [], state("s"));
    expect(none.lookup("img", [1])).toBeNull();
    const cache = new StateCache(1000, 100);
    cache.set("img", [], state("batch of 2", 2));
    expect(cache.lookup("img", [1])).toBeNull();
  });

  it("setting the same key again replaces the entry and keeps it findable", () => {
    const cache = new StateCache(1000, 100);
    cache.set("img", [1], state("a"));
    cache.set("img", [1], state("b"));
    expect(cache.entries).toBe(1);
    expect((cache.lookup("img", [1, 2])?.state as { name?: string } | undefined)?.name).toBe("b");
  });
});
