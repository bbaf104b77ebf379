import { describe, expect, it } from "vitest";
import { isModuleNotFound, MissingDependencyError } from "./errors.js";

describe("optional peer dependencies", () => {
  it("tells a missing package apart from other import failures", async () => {
    const name = "cobra-ts-no-such-package";
    const e = await import(/* @vite-ignore */ name).catch((err: unknown) => err);
    expect(isModuleNotFound(e, name)).toBe(true);
    expect(isModuleNotFound(e, "sharp")).toBe(false);
    expect(isModuleNotFound(new Error(`Cannot find package '${name}'`), name)).toBe(false);
  });

  it("says which package to install and what for", () => {
    const e = new MissingDependencyError("sharp", "decoding JPEG");
    expect(e.message).toBe("decoding JPEG needs the optional peer dependency sharp: npm install sharp");
    expect(e.packageName).toBe("sharp");
    expect(e.name).toBe("MissingDependencyError");
  });
});
