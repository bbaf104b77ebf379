import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { beforeAll, describe, expect, it } from "vitest";
import { buildLanguageModel } from "../graph/convert.js";
import { readScanRegions, SCAN_REGIONS_METADATA } from "../graph/scan-regions.js";
import { fixtureConfig, openCheckpoint } from "../test-support/fixture.js";
import { kernelSide, type SplitGraph, splitAtScans } from "./split-at-scans.js";

const CONFIG = fixtureConfig();
let split: SplitGraph;
beforeAll(async () => {
  const source = await openCheckpoint();
  try {
    const { model } = await buildLanguageModel(source, CONFIG);
    const proto = fromBinary(ModelProtoSchema, model);
    const metadata = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
    expect(metadata[SCAN_REGIONS_METADATA]).toBeDefined();
    split = splitAtScans(proto, readScanRegions(metadata, "fixture"), "fixture");
  } finally {
    await source.close();
  }
});

const parse = (bytes: Uint8Array) => fromBinary(ModelProtoSchema, bytes).graph!;

describe("splitAtScans on the fixture LM", () => {
  it("cuts n_layer + 1 segments; segment i holds layer i's input projections and layer i-1's output projection only", () => {
    expect(split.segments).toHaveLength(CONFIG.nLayer + 1);
    split.segments.forEach((s, k) => {
      const names = parse(s.model).initializer.map((t) => t.name);
      for (let i = 0; i < CONFIG.nLayer; i++) {
        expect(names.includes(`layers.${i}.mixer.in_proj.weight.T`), `segment ${k}, layer ${i} in_proj`).toBe(
          i === k,
        );
        expect(
          names.includes(`layers.${i}.mixer.out_proj.weight.T`),
          `segment ${k}, layer ${i} out_proj`,
        ).toBe(i === k - 1);
      }
      // The scan's own nodes stay out of every segment.
      expect(parse(s.model).node.some((n) => n.opType === "Scan")).toBe(false);
    });
  });

  it("hands every scan its inputs from the segment before it and takes its outputs in the next", () => {
    const regions = split.segments;
    for (let i = 0; i < CONFIG.nLayer; i++) {
      const before = regions[i].outputs.filter((o) => o.endsWith("::kernel"));
      const after = regions[i + 1].inputs.filter((o) => o.endsWith("::kernel"));
      expect(before, `segment ${i} outputs`).toHaveLength(6); // u, delta, z, B, C, the state
      expect(after, `segment ${i + 1} inputs`).toHaveLength(2); // out, last state
      expect(regions[i + 1].outputs).toContain(`ssm_state_out.${i}`);
      expect(regions[i].outputs).toContain(`conv_state_out.${i}`);
    }
    expect(split.segments[0].inputs).toContain("inputs_embeds");
    expect(split.segments.at(-1)!.outputs).toContain("logits");
  });

  it("computes A, D and the dt bias of every layer once, in the constants graph", () => {
    expect(split.constants.inputs).toEqual([]);
    expect(split.constants.outputs).toHaveLength(3 * CONFIG.nLayer);
    expect(split.constants.outputs).toContain(kernelSide("layers.0.mixer.D"));
    expect(split.constants.outputs).toContain(kernelSide("layers.0.mixer.dt_proj.bias"));
  });
});
