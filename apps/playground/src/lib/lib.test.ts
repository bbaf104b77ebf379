import { describe, expect, it } from "vitest";
import { manifestFiles, modelBaseUrl } from "../worker/manifest";
import { throttleProgress } from "../worker/progress";
import { backendLabel } from "./backend-label";
import { describeError, isAbortError, isQuotaError } from "./errors";
import { modelFilesFromFolder } from "./folder";
import { formatBytes, formatMs, formatProgress } from "./format";
import { parseMaxNewTokens } from "./max-new-tokens";
import { cacheKey, urlOfCacheKey } from "./model-cache";
import { storageShortage } from "./storage";

describe("parseMaxNewTokens", () => {
  it("accepts whole numbers from 1 to 4096", () => {
    expect(parseMaxNewTokens("1")).toEqual({ ok: true, value: 1 });
    expect(parseMaxNewTokens(" 256 ")).toEqual({ ok: true, value: 256 });
    expect(parseMaxNewTokens("4096")).toEqual({ ok: true, value: 4096 });
  });

  it("refuses anything else with one message instead of changing it", () => {
    for (const text of ["-5", "0", "4097", "2.5", "", "  ", "abc", "1e9"]) {
      const parsed = parseMaxNewTokens(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.message).toBe("Max new tokens must be a whole number from 1 to 4096.");
    }
  });
});

describe("format", () => {
  it("writes sizes in binary units and times in ms or s", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(11.8 * 1024 ** 3)).toBe("11.8 GiB");
    expect(formatProgress(1024, null)).toBe("1.00 KiB");
    expect(formatProgress(0, 2048)).toBe("0 B / 2.00 KiB");
    expect(formatMs(85.4)).toBe("85 ms");
    expect(formatMs(1500)).toBe("1.50 s");
  });
});

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

describe("modelFilesFromFolder", () => {
  const blob = new Blob([]);
  it("keys files relative to the folder holding cobra.json, whichever folder was picked", () => {
    const picked = ["models/cobra-tiny/cobra.json", "models/cobra-tiny/lm.onnx", "models/readme.txt"].map(
      (relativePath) => ({ relativePath, blob }),
    );
    expect(modelFilesFromFolder(picked).map((f) => f.path)).toEqual(["cobra.json", "lm.onnx"]);
  });
  it("explains a folder without cobra.json", () => {
    expect(() => modelFilesFromFolder([{ relativePath: "x/a.onnx", blob }])).toThrow(/no cobra.json/);
  });
});

describe("manifest", () => {
  it("turns a model URL into its folder URL", () => {
    expect(modelBaseUrl("/models/cobra-tiny", "http://127.0.0.1:4173/")).toBe(
      "http://127.0.0.1:4173/models/cobra-tiny/",
    );
    expect(modelBaseUrl("https://h.test/m/cobra.json")).toBe("https://h.test/m/");
  });
  it("rejects what is not a cobra-ts manifest", () => {
    expect(() => manifestFiles("<html>", "u")).toThrow(/not JSON/);
    expect(() => manifestFiles('{"format":"x"}', "u")).toThrow(/not a cobra-ts manifest/);
    expect(
      manifestFiles(
        '{"format":"cobra-ts","parts":{"lm":{"files":[{"path":"a","size":1,"sha256":"s"}]}}}',
        "u",
      ),
    ).toHaveLength(1);
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

describe("backendLabel", () => {
  it("says whether WASM runs threads", () => {
    expect(backendLabel({ backend: "wasm", crossOriginIsolated: true, logicalCores: 8 })).toBe(
      "WASM, threads available (8 logical cores)",
    );
    expect(backendLabel({ backend: "wasm", crossOriginIsolated: false, logicalCores: 8 })).toMatch(
      /single thread/,
    );
    expect(backendLabel({ backend: "webgpu", crossOriginIsolated: false, logicalCores: 8 })).toBe("WebGPU");
  });
});
