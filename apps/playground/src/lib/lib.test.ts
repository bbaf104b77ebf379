import { describe, expect, it } from "vitest";
import { backendLabel } from "./backend-label";
import { modelFilesFromFolder } from "./folder";
import { formatBytes, formatMs, formatProgress } from "./format";
import { parseMaxNewTokens } from "./max-new-tokens";

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
