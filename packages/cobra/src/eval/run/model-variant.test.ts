import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import type { CobraManifest } from "../../manifest.js";
import { checkModelDtypes, modelVariant } from "./model-variant.js";

/** The parts of a manifest that the dtype check reads. */
const folder = (lm: string, vision = "fp32", projector = "fp32") =>
  ({
    parts: {
      encoder: { dtype: vision },
      projector: { dtype: projector },
      lm: { dtype: lm },
    },
  }) as unknown as Pick<CobraManifest, "parts">;

describe("--variant: the model's keys (dtype, resize, backend)", () => {
  it("reads dtype for every part or one part, the part's own key winning", () => {
    expect(modelVariant({}).dtypes).toEqual({});
    expect(modelVariant({ dtype: "q8" }).dtypes).toEqual({ vision: "q8", projector: "q8", lm: "q8" });
    expect(modelVariant({ "dtype.lm": "q4" }).dtypes).toEqual({
      vision: "fp32",
      projector: "fp32",
      lm: "q4",
    });
    expect(modelVariant({ dtype: "q8", "dtype.lm": "q4" }).dtypes).toEqual({
      vision: "q8",
      projector: "q8",
      lm: "q4",
    });
    expect(() => modelVariant({ "dtype.lm": "int3" })).toThrow(
      /dtype\.lm=int3: choose one of fp32, fp16, q8, q4/,
    );
  });

  it("reads the resize strategy and the backends", () => {
    expect(modelVariant({ resize: "letterbox" }).resize).toBe("letterbox");
    expect(modelVariant({}).resize).toBeUndefined();
    expect(() => modelVariant({ resize: "squash" })).toThrow(
      /resize=squash: choose one of resize-naive, resize-crop, letterbox/,
    );
    expect(modelVariant({}).backend).toBe("cpu");
    expect(modelVariant({ backend: "wasm", "backend.lm": "cpu" }).backend).toEqual({
      vision: "wasm",
      projector: "wasm",
      lm: "cpu",
    });
  });

  it("passes a folder whose parts have the dtypes asked for", () => {
    expect(() =>
      checkModelDtypes(folder("q8"), modelVariant({ "dtype.lm": "q8" }).dtypes, "m"),
    ).not.toThrow();
    expect(() => checkModelDtypes(folder("q4"), {}, "m")).not.toThrow();
  });

  it("refuses another dtype, naming the folder's dtype and the cobra quantize command that writes the one asked", () => {
    const e = (() => {
      try {
        checkModelDtypes(folder("fp32"), modelVariant({ "dtype.lm": "q8" }).dtypes, "/models/cobra");
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e?.message).toMatch(/asks for the lm as q8, but \/models\/cobra has its lm as fp32/);
    expect(e?.message).toContain("cobra quantize --model /models/cobra --dtype lm=q8 --out <folder>");
  });

  it("a quantized part is quantized again from fp32; cobra quantize writes every part", () => {
    expect(() => checkModelDtypes(folder("q8"), modelVariant({ "dtype.lm": "q4" }).dtypes, "m")).toThrow(
      /has its lm as q8.*cobra quantize starts from fp32 parts: .* with --dtype lm=q4/,
    );
    expect(() => checkModelDtypes(folder("fp32"), modelVariant({ dtype: "q8" }).dtypes, "m")).toThrow(
      /the vision as q8, the projector as q8, the lm as q8.*cobra quantize --model m --dtype vision=q8,projector=q8,lm=q8 --out <folder>/,
    );
  });
});
