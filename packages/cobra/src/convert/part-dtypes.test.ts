import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { checkNamedParts, checkWritableDtypes, parsePartDtypes } from "./part-dtypes.js";

describe("--dtype per part", () => {
  it("takes fp16 / q8 / q4 for the towers and the projector", () => {
    for (const spec of ["q8", "q4", "vision=fp16,projector=q8", "vision=q4,projector=fp16,lm=q8"])
      expect(() => checkWritableDtypes(parsePartDtypes(spec).dtypes), spec).not.toThrow();
    expect(parsePartDtypes("vision=q8")).toEqual({
      dtypes: { vision: "q8", projector: "fp32", lm: "fp32" },
      named: ["vision"],
    });
    expect(parsePartDtypes("q4")).toEqual({ dtypes: { vision: "q4", projector: "q4", lm: "q4" }, named: [] });
    for (const spec of ["lm=q4,lm=q8", "lm=q4,lm=q4"])
      expect(() => parsePartDtypes(spec), spec).toThrow(/the lm is named twice/);
  });

  it("refuses what a part cannot be written as, naming what it takes", () => {
    expect(() => checkWritableDtypes(parsePartDtypes("fp16").dtypes)).not.toThrow();
    expect(() => checkWritableDtypes(parsePartDtypes("lm=q4f16").dtypes)).not.toThrow();
    const q4f16 = () => checkWritableDtypes(parsePartDtypes("q4f16").dtypes);
    expect(q4f16).toThrow(InvalidArgumentError);
    expect(q4f16).toThrow(
      /^--dtype: the vision cannot be written as q4f16 in this version; it takes fp32, fp16, q8, q4 \(quantize the LM alone with --dtype lm=q4f16\)$/,
    );
    // An LM-only model has no towers to refuse.
    expect(() => checkWritableDtypes(parsePartDtypes("q4f16").dtypes, ["lm"])).not.toThrow();
  });

  it("refuses a part named for a model that does not have it; one name for every part is for those there are", () => {
    const lmOnly = (spec: string) => () =>
      checkNamedParts(parsePartDtypes(spec), ["lm"], "the preset mamba-130m");
    expect(lmOnly("vision=q4")).toThrow(InvalidArgumentError);
    expect(lmOnly("lm=q8,vision=q4,projector=fp16")).toThrow(
      "--dtype: the preset mamba-130m has no vision or projector to write (it has the lm); drop vision=q4, projector=fp16",
    );
    expect(lmOnly("q4")).not.toThrow();
    expect(lmOnly("lm=q4f16")).not.toThrow();
  });
});
