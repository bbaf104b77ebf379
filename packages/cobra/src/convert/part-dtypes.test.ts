import { InvalidArgumentError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { checkWritableDtypes, parsePartDtypes } from "./part-dtypes.js";

describe("--dtype per part", () => {
  it("takes fp16 / q8 / q4 for the towers and the projector", () => {
    for (const spec of ["q8", "q4", "vision=fp16,projector=q8", "vision=q4,projector=fp16,lm=q8"])
      expect(() => checkWritableDtypes(parsePartDtypes(spec)), spec).not.toThrow();
    expect(parsePartDtypes("vision=q8")).toEqual({ vision: "q8", projector: "fp32", lm: "fp32" });
    for (const spec of ["lm=q4,lm=q8", "lm=q4,lm=q4"])
      expect(() => parsePartDtypes(spec), spec).toThrow(/the lm is named twice/);
  });

  it("refuses what a part cannot be written as, naming what it takes", () => {
    expect(() => checkWritableDtypes(parsePartDtypes("fp16"))).toThrow(
      "the lm cannot be written as fp16 in this version; it takes fp32, q8, q4",
    );
    const q4f16 = () => checkWritableDtypes(parsePartDtypes("vision=q4f16"));
    expect(q4f16).toThrow(InvalidArgumentError);
    expect(q4f16).toThrow(
      /^--dtype: the vision cannot be written as q4f16 in this version; it takes fp32, fp16, q8, q4$/,
    );
    // An LM-only model has no towers to refuse.
    expect(() => checkWritableDtypes(parsePartDtypes("vision=q4f16"), ["lm"])).not.toThrow();
  });
});
