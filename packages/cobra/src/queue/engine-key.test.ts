import { describe, expect, it } from "vitest";
import { engineKey } from "./worker.js";

describe("engineKey: one model load per backend each part ends up on", () => {
  it("shares a load between a job that names no backend and one that names the default", () => {
    expect(engineKey(undefined, {})).toBe(engineKey("cpu", {}));
    expect(engineKey({ lm: "cpu" }, {})).toBe(engineKey("cpu", {}));
  });

  it("keeps the manifest's recorded backends apart from an explicit choice that overrides them", () => {
    const recorded = { vision: "wasm" as const };
    expect(engineKey(undefined, recorded)).toBe(engineKey({ vision: "wasm" }, {}));
    expect(engineKey(undefined, recorded)).not.toBe(engineKey("cpu", recorded));
  });

  it("refuses a backend no part can run on", () => {
    expect(() => engineKey("tpu" as never, {})).toThrow(/backend/);
  });
});
