import { ConfigError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { projectorSpecFromArchSpecifier } from "../src/index.js";

describe("projectorSpecFromArchSpecifier (CobraVLM.__init__ dispatch)", () => {
  it.each([
    ["no-align+fused-gelu-mlp", "fused-gelu-mlp"], // cobra+3b, the released model
    ["fused-gelu-mlp", "fused-gelu-mlp"],
    ["no-align+gelu-mlp", "gelu-mlp"],
    ["gelu-mlp", "gelu-mlp"],
    ["no-align+fused-ldpnet", "fused-ldpnet"],
    ["linear", "linear"],
  ])("%s -> %s", (arch, variant) => {
    expect(projectorSpecFromArchSpecifier(arch)).toEqual({ archSpecifier: arch, variant });
  });

  it.each([
    "no-align+linear", // the official code matches "linear" only as the whole string
    "ldpnet", // LDPProjector exists but no arch_specifier reaches it
    "no-align+fused-mlp",
    "gelu-mlp+no-align",
    "",
  ])("refuses %j with a ConfigError naming it", (arch) => {
    expect(() => projectorSpecFromArchSpecifier(arch)).toThrow(ConfigError);
    expect(() => projectorSpecFromArchSpecifier(arch)).toThrow(`"${arch}"`);
  });
});
