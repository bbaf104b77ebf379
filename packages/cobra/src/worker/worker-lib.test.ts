import { describe, expect, it } from "vitest";
import { describeError, isAbortError, isQuotaError } from "./errors.js";
import { cacheKey, urlOfCacheKey } from "./model-cache.js";
import { modelBaseUrl } from "./model-url.js";
import { throttleProgress } from "./progress.js";
import { storageShortage } from "./storage.js";

describe("storageShortage", () => {
  it("is null when the model fits or the browser gives no estimate", () => {
    expect(storageShortage(10, { quota: 100, usage: 50 })).toBeNull();
    expect(storageShortage(10, null)).toBeNull();
    expect(storageShortage(0, { quota: 0, usage: 0 })).toBeNull();
  });
  it("says how much is needed and how much is left", () => {
    expect(storageShortage(3 * 1024 ** 3, { quota: 1024 ** 3, usage: 0 })).toMatch(
      /needs 3.00 GiB, but this site may only store 1.00 GiB more/,
    );
  });
});

describe("errors", () => {
  it("recognises quota and abort errors by name", () => {
    expect(isQuotaError(new DOMException("full", "QuotaExceededError"))).toBe(true);
    expect(isAbortError(new DOMException("stop", "AbortError"))).toBe(true);
    expect(isQuotaError(new Error("x"))).toBe(false);
    expect(describeError("boom")).toEqual({ name: "Error", message: "boom" });
  });
});

describe("model cache keys", () => {
  it("adds the sha256 as a query parameter and can take it off again", () => {
    const key = cacheKey("https://h.test/m/lm.onnx", "abc");
    expect(key).toBe("https://h.test/m/lm.onnx?cobra-sha256=abc");
    expect(urlOfCacheKey(key)).toBe("https://h.test/m/lm.onnx");
  });
});

describe("modelBaseUrl", () => {
  it("turns a model URL into its folder URL", () => {
    expect(modelBaseUrl("/models/cobra-tiny", "http://127.0.0.1:4173/")).toBe(
      "http://127.0.0.1:4173/models/cobra-tiny/",
    );
    expect(modelBaseUrl("https://h.test/m/cobra.json")).toBe("https://h.test/m/");
  });
});

describe("throttleProgress", () => {
  it("sends the first, the final and at most one report per interval for each file", () => {
    let t = 0;
    const sent: number[] = [];
    const report = throttleProgress(
      (p) => sent.push(p.loaded),
      100,
      () => t,
    );
    for (let loaded = 0; loaded <= 10; loaded++) {
      t += 30;
      report({ file: "a", loaded, total: 10, fromCache: false });
    }
    expect(sent).toEqual([0, 4, 8, 10]);
  });
});
