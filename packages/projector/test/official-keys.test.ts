import { describe, expect, it } from "vitest";
import { expectedProjectorTensors, type ProjectorVariant, projectedTokens } from "../src/index.js";

// State-dict keys and shapes read from the official cobra/util/nn_utils.py (commit 4b81082): every projector
// class wraps an `nn.Sequential` (or, for LinearProjector, one `nn.Linear`) in `self.projector`; GELU and
// TokenDownLayer (an AdaptiveAvgPool2d inside `self.dwn`) hold no parameters; PosInjectLayer holds
// `self.peg = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=True, groups=c))`. D = 56, d = 16 as in cobra-tiny.
const D = 56;
const d = 16;
const OFFICIAL: Record<ProjectorVariant, Array<[string, number[]]>> = {
  linear: [
    ["projector.weight", [d, D]],
    ["projector.bias", [d]],
  ],
  "gelu-mlp": [
    ["projector.0.weight", [d, D]],
    ["projector.0.bias", [d]],
    ["projector.2.weight", [d, d]],
    ["projector.2.bias", [d]],
  ],
  "fused-gelu-mlp": [
    ["projector.0.weight", [4 * D, D]],
    ["projector.0.bias", [4 * D]],
    ["projector.2.weight", [d, 4 * D]],
    ["projector.2.bias", [d]],
    ["projector.4.weight", [d, d]],
    ["projector.4.bias", [d]],
  ],
  "fused-ldpnet": [
    ["projector.0.weight", [4 * D, D]],
    ["projector.0.bias", [4 * D]],
    ["projector.2.weight", [d, 4 * D]],
    ["projector.2.bias", [d]],
    ["projector.4.peg.0.weight", [d, 1, 3, 3]],
    ["projector.4.peg.0.bias", [d]],
  ],
  ldpnet: [
    ["projector.0.weight", [d, D]],
    ["projector.0.bias", [d]],
    ["projector.2.weight", [d, d]],
    ["projector.2.bias", [d]],
    ["projector.4.peg.0.weight", [d, 1, 3, 3]],
    ["projector.4.peg.0.bias", [d]],
  ],
};

describe("state-dict keys and shapes vs the official modules", () => {
  for (const [variant, keys] of Object.entries(OFFICIAL) as Array<
    [ProjectorVariant, Array<[string, number[]]>]
  >)
    it(variant, () => {
      const ours = expectedProjectorTensors(variant, { visionDim: D, llmDim: d });
      expect(ours.map((t) => [t.key, t.shape])).toEqual(keys);
    });

  it("token counts: 729 patches in, 729 out for the MLPs, 14x14 = 196 for the LDP nets", () => {
    const dims = { visionDim: D, llmDim: d };
    expect(projectedTokens("fused-gelu-mlp", dims)).toBe(729);
    expect(projectedTokens("linear", dims)).toBe(729);
    expect(projectedTokens("fused-ldpnet", dims)).toBe(196);
    expect(projectedTokens("ldpnet", dims)).toBe(196);
  });
});
