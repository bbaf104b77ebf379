import { describe, expect, it } from "vitest";
import { parseVariantArgs, runnerVariant, setsDecoding } from "./variant.js";

const pope = { name: "pope" };
const textvqa = { name: "textvqa", variantKeys: ["ocr"] };

describe("--variant: the runner's keys", () => {
  it("defaults to image reuse, batch 32, the task's token limit and greedy decoding", () => {
    const r = runnerVariant({}, [], pope);
    expect(r).toEqual({ imageReuse: true, batch: 32, maxNewTokens: undefined, decoding: {} });
    expect(setsDecoding(r)).toBe(false);
  });

  it("reads the decoding settings as generate's options", () => {
    const r = runnerVariant(
      parseVariantArgs([
        "do_sample=true",
        "temperature=0.7",
        "top_k=0",
        "top_p=0.9",
        "repetition_penalty=1.2",
        "sample_seed=5",
      ]),
      [],
      pope,
    );
    expect(r.decoding).toEqual({
      doSample: true,
      temperature: 0.7,
      topK: 0,
      topP: 0.9,
      repetitionPenalty: 1.2,
      seed: 5,
    });
    expect(setsDecoding(r)).toBe(true);
  });

  it("refuses bad decoding values, named by their variant key", () => {
    const bad = (v: Record<string, string>) => () => runnerVariant(v, [], pope);
    expect(bad({ do_sample: "yes" })).toThrow(/do_sample=yes: give true or false/);
    expect(bad({ top_k: "2.5" })).toThrow(/top_k=2\.5: give a whole number/);
    expect(bad({ temperature: "warm" })).toThrow(/temperature=warm: give a number/);
    expect(bad({ top_p: "1.5" })).toThrow(/--variant top_p must be in/);
    expect(bad({ repetition_penalty: "0" })).toThrow(/--variant repetition_penalty must be > 0/);
    expect(bad({ do_sample: "true", top_k: "0", temperature: "0" })).toThrow(
      /--variant temperature must be > 0 when sampling/,
    );
  });

  it("refuses a key nobody reads, for every task; the caller's and the task's keys are known", () => {
    expect(() => runnerVariant({ resize: "letterbox" }, [], pope)).toThrow(
      /--variant resize: not a setting of pope or of the runner; known: .*batch.*temperature/,
    );
    expect(runnerVariant({ resize: "letterbox" }, ["resize"], pope).batch).toBe(32);
    expect(() => runnerVariant({ ocr: "first" }, [], pope)).toThrow(/--variant ocr: not a setting of pope/);
    expect(runnerVariant({ ocr: "first" }, [], textvqa).imageReuse).toBe(true);
  });

  it("refuses a key given twice or without a value", () => {
    expect(() => parseVariantArgs(["dtype=q8", "dtype=q4"])).toThrow(/dtype is given twice/);
    expect(() => parseVariantArgs(["letterbox"])).toThrow(/expected key=value/);
  });
});
